using GpuCnn.Kernels;
using GpuCnn.Kernels.Elementwise;

namespace GpuCnn.Layers;

/// <summary>ELU, as <c>torch.nn.ELU</c>: y = x &gt; 0 ? x : α(eˣ − 1); dx = x &gt; 0 ? dy : dy·(y + α).</summary>
public sealed class ELU : Activation<EluOp>, IFusibleActivation
{
    /// <summary>Creates the layer with scale <paramref name="alpha"/> of the negative part.</summary>
    public ELU(float alpha = 1f, string? name = null) : base(name)
    {
        // The fused in-place backward reads the sign of x from y, which needs α ≥ 0.
        if (!(alpha >= 0) || float.IsInfinity(alpha))
            throw new ArgumentException($"ELU: alpha must be non-negative and finite, got {alpha}");
        Alpha = alpha;
    }

    /// <summary>Scale α of the negative part.</summary>
    public float Alpha { get; }

    /// <inheritdoc/>
    public override string TypeName => "ELU";

    /// <inheritdoc/>
    protected override EluOp Op => new() { Alpha = Alpha };

    /// <inheritdoc/>
    public FusedActivation Epilogue => FusedActivation.Elu(Alpha);
}

using GpuCnn.Kernels;
using GpuCnn.Kernels.Elementwise;

namespace GpuCnn.Layers;

/// <summary>LeakyReLU, as <c>torch.nn.LeakyReLU</c>: y = x &gt; 0 ? x : slope·x; dx = x &gt; 0 ? dy : slope·dy.</summary>
public sealed class LeakyReLU : Activation<LeakyReluOp>, IFusibleActivation
{
    /// <summary>Creates the layer with slope <paramref name="negativeSlope"/> for x ≤ 0.</summary>
    public LeakyReLU(float negativeSlope = 0.01f, string? name = null) : base(name)
    {
        // The fused in-place backward reads the sign of x from y, which needs slope ≥ 0.
        if (!(negativeSlope >= 0) || float.IsInfinity(negativeSlope))
            throw new ArgumentException($"LeakyReLU: negative slope must be non-negative and finite, got {negativeSlope}");
        NegativeSlope = negativeSlope;
    }

    /// <summary>Slope for x ≤ 0.</summary>
    public float NegativeSlope { get; }

    /// <inheritdoc/>
    public override string TypeName => "LeakyReLU";

    /// <inheritdoc/>
    protected override LeakyReluOp Op => new() { Slope = NegativeSlope };

    /// <inheritdoc/>
    public FusedActivation Epilogue => FusedActivation.Leaky(NegativeSlope);
}

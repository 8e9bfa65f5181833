using GpuCnn.Kernels.Elementwise;

namespace GpuCnn.Layers;

/// <summary>Tanh: y = tanh(x); dx = dy · (1 − y²).</summary>
public sealed class Tanh : Activation<TanhOp>
{
    /// <summary>Creates the layer.</summary>
    public Tanh(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Tanh";
}

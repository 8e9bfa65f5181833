using GpuCnn.Kernels.Elementwise;

namespace GpuCnn.Layers;

/// <summary>Sigmoid: y = 1 / (1 + e^−x); dx = dy · y · (1 − y).</summary>
public sealed class Sigmoid : Activation<SigmoidOp>
{
    /// <summary>Creates the layer.</summary>
    public Sigmoid(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Sigmoid";
}

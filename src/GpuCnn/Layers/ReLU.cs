using GpuCnn.Kernels;
using GpuCnn.Kernels.Elementwise;

namespace GpuCnn.Layers;

/// <summary>ReLU: y = max(x, 0); dx = dy · [x &gt; 0].</summary>
public sealed class ReLU : Activation<ReluOp>, IFusibleActivation
{
    /// <summary>Creates the layer.</summary>
    public ReLU(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "ReLU";

    /// <inheritdoc/>
    public FusedActivation Epilogue => FusedActivation.Relu;
}

using GpuCnn.Devices;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Flattens each sample to a vector: [C, H, W] → [C·H·W]. NCHW is already row-major per sample, so the executor
/// aliases the input memory; neither pass launches a kernel.
/// </summary>
public sealed class Flatten : Layer
{
    /// <summary>Creates the layer.</summary>
    public Flatten(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Flatten";
    /// <inheritdoc/>
    public override bool IsAlias => true;
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs) => new((int)inputs[0].Size);

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device) { }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) { }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io) { }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Element-wise product of two equally shaped inputs (<c>torch.mul</c>): y = a ⊙ b; da = dy ⊙ b, db = dy ⊙ a
/// (<see cref="ProductKernels"/>). With <see cref="Scale"/> and <see cref="Add"/> it composes custom losses
/// (<see cref="Graphs.GraphLoss"/>), gates and masks; the same node may be both inputs (a square).
/// </summary>
public sealed class Multiply : Layer
{
    Kernel<ProductArgs>? fwd, bwd;

    /// <summary>Creates the layer.</summary>
    public Multiply(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Multiply";
    /// <inheritdoc/>
    public override int InputCount => 2;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> shapes) =>
        shapes[1] == shapes[0] ? shapes[0] : throw Mismatch(shapes[0].ToString(), shapes[1], "input 1 must match input 0");

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<ProductArgs>(ProductKernels.Forward);
        bwd = device.LoadKernel<ProductArgs>(ProductKernels.Backward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        fwd!.Launch(io.Output.Size, new() { A = io.Inputs[0].View, B = io.Inputs[1].View, Y = io.Output.View });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        for (int i = 0; i < 2; i++)
            if (!io.GradInputs[i].IsEmpty)
                bwd!.Launch(io.Output.Size, new() { A = io.GradOutput.View, B = io.Inputs[1 - i].View, Y = io.GradInputs[i].View, Beta = io.GradInputBeta[i] });
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// A pointwise activation y = f(x), dx = dy · f'(x), run by the one generic kernel pair in
/// <see cref="ElementwiseKernels"/> specialised on <typeparamref name="TOp"/>.
/// </summary>
public abstract class Activation<TOp> : Layer where TOp : struct, IUnaryOp
{
    Action<AcceleratorStream, Index1D, int, int, ArrayView<float>, ArrayView<float>>? fwd;
    Action<AcceleratorStream, Index1D, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>? bwd;

    /// <summary>Creates the activation.</summary>
    protected Activation(string? name) : base(name) { }

    /// <inheritdoc/>
    public override bool BackwardNeedsOutput => true;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.Load<ArrayView<float>, ArrayView<float>>(ElementwiseKernels.UnaryForward<TOp>);
        bwd = device.Load<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(ElementwiseKernels.UnaryBackward<TOp>);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        Device.Launch(fwd!, io.Output.Size, io.Inputs[0].View, io.Output.View);

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        Device.Launch(bwd!, io.Output.Size, io.Inputs[0].View, io.Output.View, io.GradOutput.View, io.GradInputs[0].View, io.GradInputBeta[0]);
    }
}

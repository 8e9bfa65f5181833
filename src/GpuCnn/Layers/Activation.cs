using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// A pointwise activation y = f(x), dx = dy · f'(x), run by the one generic kernel pair in
/// <see cref="ElementwiseKernels"/> specialised on <typeparamref name="TOp"/>; <see cref="Op"/> is passed to the
/// kernels as a value, so an op can carry parameters.
/// </summary>
public abstract class Activation<TOp> : Layer where TOp : struct, IUnaryOp
{
    Kernel<UnaryForwardArgs<TOp>>? fwd;
    Kernel<UnaryBackwardArgs<TOp>>? bwd;

    /// <summary>Creates the activation.</summary>
    protected Activation(string? name) : base(name) { }

    /// <summary>The op, with its parameters, as the kernels receive it.</summary>
    protected virtual TOp Op => default;

    /// <inheritdoc/>
    public override bool BackwardNeedsOutput => true;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<UnaryForwardArgs<TOp>>(ElementwiseKernels.UnaryForward);
        bwd = device.LoadKernel<UnaryBackwardArgs<TOp>>(ElementwiseKernels.UnaryBackward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        fwd!.Launch(io.Output.Size, new() { Op = Op, X = io.Inputs[0].View, Y = io.Output.View });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        bwd!.Launch(io.Output.Size, new()
        {
            Op = Op, X = io.Inputs[0].View, Y = io.Output.View, Dy = io.GradOutput.View, Dx = io.GradInputs[0].View,
            Beta = io.GradInputBeta[0],
        });
    }
}

/// <summary>
/// A pointwise activation that a producer can apply in its output epilogue (see <see cref="Layer.CanFuse"/>). When
/// fused, the activation shares its producer's output memory and launches no forward kernel; its backward then runs
/// in place with the forward input and output being the same (already activated) view, so the op's derivative must
/// be right when read from the output alone (true for the <see cref="FusedActivation"/> family).
/// </summary>
public interface IFusibleActivation
{
    /// <summary>The epilogue form of this activation.</summary>
    FusedActivation Epilogue { get; }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;

namespace GpuCnn.Layers;

/// <summary>
/// Pooling that keeps one winner per window (max or min, chosen by <typeparamref name="TSel"/>):
/// y = x[winner]; dx[i] = Σ over the windows that i wins of dy.
/// </summary>
public abstract class SelectPool2d<TSel> : Pool2d where TSel : struct, IPoolSelect
{
    Kernel<SelectForwardArgs<TSel>>? fwd;
    Kernel<SelectBackwardArgs<TSel>>? bwd;

    /// <summary>Creates the layer.</summary>
    protected SelectPool2d(int kernelSize, int? stride, int padding, bool ceilMode, string? name)
        : base(kernelSize, stride, padding, ceilMode, name) { }

    /// <summary>The selection, as the kernels receive it.</summary>
    protected virtual TSel Op => default;

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<SelectForwardArgs<TSel>>(PoolKernels.SelectForward);
        bwd = device.LoadKernel<SelectBackwardArgs<TSel>>(PoolKernels.SelectBackward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        fwd!.Launch(io.Output.Size, new() { Op = Op, Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Y = io.Output.View });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        bwd!.Launch(io.GradInputs[0].Size, new()
        {
            Op = Op, Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Dy = io.GradOutput.View,
            Dx = io.GradInputs[0].View, Beta = io.GradInputBeta[0],
        });
    }
}

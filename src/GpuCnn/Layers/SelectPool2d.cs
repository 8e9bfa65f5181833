using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// Pooling that keeps one winner per window (max or min, chosen by <typeparamref name="TSel"/>):
/// y = x[winner]; dx[i] = Σ over the windows that i wins of dy.
/// </summary>
public abstract class SelectPool2d<TSel> : Pool2d where TSel : struct, IPoolSelect
{
    Action<AcceleratorStream, Index1D, int, int, PoolParams, ArrayView<float>, ArrayView<float>>? fwd;
    Action<AcceleratorStream, Index1D, int, int, PoolParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>? bwd;

    /// <summary>Creates the layer.</summary>
    protected SelectPool2d(int kernelSize, int? stride, int padding, bool ceilMode, string? name)
        : base(kernelSize, stride, padding, ceilMode, name) { }

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.Load<PoolParams, ArrayView<float>, ArrayView<float>>(PoolKernels.SelectForward<TSel>);
        bwd = device.Load<PoolParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(PoolKernels.SelectBackward<TSel>);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        Device.Launch(fwd!, io.Output.Size, Geometry(io.Inputs[0].Shape), io.Inputs[0].View, io.Output.View);

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        Device.Launch(bwd!, io.GradInputs[0].Size, Geometry(io.Inputs[0].Shape), io.Inputs[0].View, io.GradOutput.View,
            io.GradInputs[0].View, io.GradInputBeta[0]);
    }
}

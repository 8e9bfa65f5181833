using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// Average pooling, as <c>torch.nn.AvgPool2d</c> with count_include_pad: y = Σ window / d, d the window clipped to the
/// padded input; dx[i] = Σ over windows containing i of dy / d.
/// </summary>
public sealed class AvgPool2d : Pool2d
{
    Action<AcceleratorStream, Index1D, int, int, PoolParams, ArrayView<float>, ArrayView<float>>? fwd;
    Action<AcceleratorStream, Index1D, int, int, PoolParams, ArrayView<float>, ArrayView<float>, float>? bwd;

    /// <summary>Creates the layer; <paramref name="stride"/> defaults to <paramref name="kernelSize"/>.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, string? name = null)
        : base(kernelSize, stride, padding, ceilMode, name) { }

    /// <inheritdoc/>
    public override string TypeName => "AvgPool2d";
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.Load<PoolParams, ArrayView<float>, ArrayView<float>>(PoolKernels.AvgForward);
        bwd = device.Load<PoolParams, ArrayView<float>, ArrayView<float>, float>(PoolKernels.AvgBackward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        Device.Launch(fwd!, io.Output.Size, Geometry(io.Inputs[0].Shape), io.Inputs[0].View, io.Output.View);

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        Device.Launch(bwd!, io.GradInputs[0].Size, Geometry(io.Inputs[0].Shape), io.GradOutput.View, io.GradInputs[0].View, io.GradInputBeta[0]);
    }
}

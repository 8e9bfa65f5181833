using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;

namespace GpuCnn.Layers;

/// <summary>
/// Average pooling, as <c>torch.nn.AvgPool2d</c> with count_include_pad: y = Σ window / d, d the window clipped to the
/// padded input; dx[i] = Σ over windows containing i of dy / d.
/// </summary>
public sealed class AvgPool2d : Pool2d
{
    Kernel<AvgForwardArgs>? fwd;
    Kernel<AvgBackwardArgs>? bwd;

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
        fwd = device.LoadKernel<AvgForwardArgs>(PoolKernels.AvgForward);
        bwd = device.LoadKernel<AvgBackwardArgs>(PoolKernels.AvgBackward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        fwd!.Launch(io.Output.Size, new() { Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Y = io.Output.View });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        bwd!.Launch(io.GradInputs[0].Size, new()
        {
            Geometry = Geometry(io.Inputs[0].Shape), Dy = io.GradOutput.View, Dx = io.GradInputs[0].View, Beta = io.GradInputBeta[0],
        });
    }
}

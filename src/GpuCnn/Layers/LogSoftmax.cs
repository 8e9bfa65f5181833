using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Kernels.Loss;

namespace GpuCnn.Layers;

/// <summary>
/// Log-softmax over the first per-sample dimension (<c>torch.nn.LogSoftmax(dim=1)</c>), computed stably in one pass
/// (<see cref="NllLossKernels"/>): y_c = x_c − log Σ e^{x_k}; dx = dy − softmax(x)·Σ dy. Followed by
/// <see cref="Graphs.NLLLoss"/> it is cross-entropy.
/// </summary>
public sealed class LogSoftmax : ChannelSoftmax
{
    /// <summary>Creates the layer.</summary>
    public LogSoftmax(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "LogSoftmax";

    /// <inheritdoc/>
    protected override (Kernel<SoftmaxForwardArgs> Forward, Kernel<SoftmaxBackwardArgs> Backward) Load(ComputeDevice device) =>
        (device.LoadKernel<SoftmaxForwardArgs>(NllLossKernels.LogSoftmaxForward), device.LoadKernel<SoftmaxBackwardArgs>(NllLossKernels.LogSoftmaxBackward));
}

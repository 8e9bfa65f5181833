using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;

namespace GpuCnn.Layers;

/// <summary>
/// Softmax over the first per-sample dimension (<c>torch.nn.Softmax(dim=1)</c>): over the features of a vector, or
/// over the channels at every pixel. y_c = e^{x_c} / Σ e^{x_k}; dx = y ⊙ (dy − Σ dy·y). For training, prefer the
/// executor's fused softmax cross-entropy on logits.
/// </summary>
public sealed class Softmax : ChannelSoftmax
{
    /// <summary>Creates the layer.</summary>
    public Softmax(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Softmax";

    /// <inheritdoc/>
    protected override (Kernel<SoftmaxForwardArgs> Forward, Kernel<SoftmaxBackwardArgs> Backward) Load(ComputeDevice device) =>
        (device.LoadKernel<SoftmaxForwardArgs>(TensorKernels.SoftmaxForward), device.LoadKernel<SoftmaxBackwardArgs>(TensorKernels.SoftmaxBackward));
}

using GpuCnn.Kernels.Pool;

namespace GpuCnn.Layers;

/// <summary>Max pooling, as <c>torch.nn.MaxPool2d</c>: y = max over the window; the gradient goes to the (first) maximum.</summary>
public sealed class MaxPool2d : SelectPool2d<MaxSelect>
{
    /// <summary>Creates the layer; <paramref name="stride"/> defaults to <paramref name="kernelSize"/>.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, string? name = null)
        : base(kernelSize, stride, padding, ceilMode, name) { }

    /// <inheritdoc/>
    public override string TypeName => "MaxPool2d";
}

using GpuCnn.Kernels.Pool;

namespace GpuCnn.Layers;

/// <summary>Min pooling: y = min over the window; the gradient goes to the (first) minimum.</summary>
public sealed class MinPool2d : SelectPool2d<MinSelect>
{
    /// <summary>Creates the layer; <paramref name="stride"/> defaults to <paramref name="kernelSize"/>.</summary>
    public MinPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, string? name = null)
        : base(kernelSize, stride, padding, ceilMode, name) { }

    /// <inheritdoc/>
    public override string TypeName => "MinPool2d";
}

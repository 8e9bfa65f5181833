namespace GpuCnn.Kernels;

/// <summary>
/// Which bias a product's epilogue adds, the first half of the one epilogue encoding every GEMM and convolution kernel
/// uses (the second is a <see cref="FusedActivation"/>, applied last). For a convolution the bias is per output
/// channel, a row of its product: its kernels take <see cref="None"/> or <see cref="PerRow"/>.
/// </summary>
public enum BiasMode
{
    /// <summary>No bias; the bias view is not read (leave it default).</summary>
    None = 0,
    /// <summary>bias[n]: one value per column of C (a fully connected layer's output feature).</summary>
    PerColumn = 1,
    /// <summary>bias[m] (bias[g·M + m] for batched products): one value per row of C (a convolution's output channel).</summary>
    PerRow = 2,
}

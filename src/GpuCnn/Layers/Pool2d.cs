using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Shared geometry of the 2-D pooling layers: window, stride (defaults to the window), padding and ceil mode,
/// with PyTorch's output size: ⌊(H + 2P − K) / S⌋ + 1 (⌈⌉ in ceil mode, where the last window must start inside
/// the input or its left padding).
/// </summary>
public abstract class Pool2d : Layer
{
    /// <summary>Creates the layer.</summary>
    protected Pool2d(int kernelSize, int? stride, int padding, bool ceilMode, string? name) : base(name)
    {
        if (kernelSize <= 0) throw new ArgumentException($"{TypeName}: kernel size must be positive");
        if ((stride ?? kernelSize) <= 0) throw new ArgumentException($"{TypeName}: stride must be positive");
        if (padding < 0 || padding * 2 > kernelSize)
            throw new ArgumentException($"{TypeName}: padding {padding} must be between 0 and half the kernel size {kernelSize}");
        KernelSize = kernelSize;
        Stride = stride ?? kernelSize;
        PaddingSize = padding;
        CeilMode = ceilMode;
    }

    /// <summary>Window size.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Implicit padding on every side.</summary>
    public int PaddingSize { get; }
    /// <summary>Round the output size up instead of down.</summary>
    public bool CeilMode { get; }

    /// <inheritdoc/>
    public override Window? ReceptiveWindow => new(KernelSize, KernelSize, Stride, Stride);

    int OutSize(int size)
    {
        int span = size + 2 * PaddingSize - KernelSize;
        if (span < 0) return 0;
        int o = (CeilMode ? (span + Stride - 1) / Stride : span / Stride) + 1;
        if (CeilMode && (o - 1) * Stride >= size + PaddingSize) o--;
        return o;
    }

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 3) throw Mismatch("[C, H, W]", x, $"{TypeName} takes C×H×W images per sample");
        int oh = OutSize(x[1]), ow = OutSize(x[2]);
        if (oh <= 0 || ow <= 0) throw Mismatch($"[C, H, W] with H, W ≥ {KernelSize - 2 * PaddingSize}", x, "output would be empty");
        return new Shape(x[0], oh, ow);
    }

    /// <inheritdoc/>
    public override long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) => output.Size * KernelSize * KernelSize;

    /// <summary>Kernel geometry for a batch input [N, C, H, W].</summary>
    protected PoolParams Geometry(Shape input) => new PoolParams()
    {
        Planes = input[0] * input[1], H = input[2], W = input[3], OH = OutSize(input[2]), OW = OutSize(input[3]),
        KH = KernelSize, KW = KernelSize, SH = Stride, SW = Stride, PH = PaddingSize, PW = PaddingSize,
    }.Prepare();
}

namespace GpuCnn.Kernels.Conv;

/// <summary>Geometry of a 2-D convolution over NCHW tensors with OIHW weights (PyTorch layout).</summary>
public struct ConvParams
{
    /// <summary>Batch size.</summary>
    public int N;
    /// <summary>Input channels, height, width.</summary>
    public int C, H, W;
    /// <summary>Output channels, height, width.</summary>
    public int K, OH, OW;
    /// <summary>Kernel height and width.</summary>
    public int KH, KW;
    /// <summary>Strides.</summary>
    public int SH, SW;
    /// <summary>Padding applied before the first row/column (top, left).</summary>
    public int PH, PW;
    /// <summary>Dilations.</summary>
    public int DH, DW;
    /// <summary>Groups: input channel c belongs to group c / (C/G), output channel k to k / (K/G).</summary>
    public int G;

    /// <summary>Input channels per group.</summary>
    public readonly int CPerGroup => C / G;
    /// <summary>Output channels per group.</summary>
    public readonly int KPerGroup => K / G;
}

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

    // Filled by Prepare() for the implicit-GEMM operands (ConvGemmOperands.cs), whose loaders and epilogues would
    // otherwise divide several times per element: GPUs have no integer divide instruction.
    /// <summary>Input channels per group (C/G) and output channels per group (K/G), set by <see cref="Prepare"/>.</summary>
    public int Cg, Kg;
    /// <summary>Division by KH·KW, KW, OH·OW, OW, H·W, W, SH and SW.</summary>
    public FastDiv ByTaps, ByKW, ByOutPlane, ByOW, ByPlane, ByW, BySH, BySW;
    /// <summary>Division by the lowered matrix's columns N·OH·OW and rows C/G·KH·KW, by H, C and C/G (col2im), and by
    /// N and K (the permutes between NKP and KNP).</summary>
    public FastDiv ByColumns, ByRows, ByH, ByC, ByCg, ByN, ByK;
    /// <summary>Division by OH, KH, K/G and the dilations, for the direct kernels (ConvKernels.cs).</summary>
    public FastDiv ByOH, ByKH, ByKg, ByDH, ByDW;

    /// <summary>A copy with <see cref="Cg"/>, <see cref="Kg"/> and the divisors set; every convolution kernel needs it.</summary>
    public readonly ConvParams Prepare()
    {
        var p = this;
        p.Cg = C / G;
        p.Kg = K / G;
        p.ByTaps = FastDiv.For(KH * KW);
        p.ByKW = FastDiv.For(KW);
        p.ByOutPlane = FastDiv.For(Math.Max(1, OH * OW));
        p.ByOW = FastDiv.For(Math.Max(1, OW));
        p.ByPlane = FastDiv.For(H * W);
        p.ByW = FastDiv.For(W);
        p.BySH = FastDiv.For(SH);
        p.BySW = FastDiv.For(SW);
        p.ByColumns = FastDiv.For(Math.Max(1, N * OH * OW));
        p.ByRows = FastDiv.For(p.Cg * KH * KW);
        p.ByH = FastDiv.For(H);
        p.ByC = FastDiv.For(C);
        p.ByCg = FastDiv.For(p.Cg);
        p.ByN = FastDiv.For(N);
        p.ByK = FastDiv.For(K);
        p.ByOH = FastDiv.For(Math.Max(1, OH));
        p.ByKH = FastDiv.For(KH);
        p.ByKg = FastDiv.For(p.Kg);
        p.ByDH = FastDiv.For(DH);
        p.ByDW = FastDiv.For(DW);
        return p;
    }

    /// <summary>True once <see cref="Prepare"/> has filled the precomputed fields.</summary>
    public readonly bool IsPrepared => ByTaps.D != 0;
}

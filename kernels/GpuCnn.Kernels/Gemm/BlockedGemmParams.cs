using ILGPU;

namespace GpuCnn.Kernels.Gemm;

/// <summary>
/// Geometry of a register-blocked GEMM, C[g] = act(α·A[g]·B[g] + bias + β·C[g]) for g &lt; G, with every operand
/// described by strides, so one kernel reads dense matrices, their transposes and batched (NCHW) activations in place.
/// <para>The columns n split into segments of NSeg (<see cref="ByNSeg"/>; an image's pixels, say): column n = s·NSeg + r is
/// at <c>s·BSegN + r·BStepN</c> in B and <c>s·CSegN + r</c> in C. The reduction k splits likewise into segments of
/// <see cref="KSeg"/>: k = s·KSeg + r is at <c>s·ASegK + r·AStepK</c> in A and <c>s·BSegK + r·BStepK</c> in B. A plain
/// matrix has one segment (NSeg = N, KSeg = K).</para>
/// A(g, m, k) = a[g·AStrideG + m·AStepM + koff_A(k)]; B(g, k, n) = b[g·BStrideG + koff_B(k) + noff_B(n)];
/// C(g, m, n) = c[g·CStrideG + m·CStepM + noff_C(n)].
/// </summary>
public struct BlockedGemmParams
{
    /// <summary>Rows of C, columns of C, reduction length, and independent products (convolution groups).</summary>
    public int M, N, K, G;
    /// <summary>A's strides along m and k, between k segments, and between products.</summary>
    public int AStepM, AStepK, ASegK, AStrideG;
    /// <summary>B's strides along k and n, between k segments, between n segments, and between products.</summary>
    public int BStepK, BStepN, BSegK, BSegN, BStrideG;
    /// <summary>C's stride along m (unit along n), between n segments, and between products.</summary>
    public int CStepM, CSegN, CStrideG;
    /// <summary>Reduction length per k segment (K for one segment).</summary>
    public int KSeg;
    /// <summary>Columns per n segment (N for one segment), as a divisor.</summary>
    public FastDiv ByNSeg;
    /// <summary>Tiles along n, as a divisor; and tiles per product (tiles along m times along n), as a divisor.</summary>
    public FastDiv ByTilesN, ByTilesG;
    /// <summary>Scale of the product, and of the old C (0 overwrites, ignoring even NaN).</summary>
    public float Alpha, Beta;
    /// <summary>bias[n] per column, bias[g·M + m] per row, or none.</summary>
    public BiasMode BiasMode;
    /// <summary>Applied last.</summary>
    public FusedActivation Activation;
    /// <summary>Rows of C per tile: <see cref="BlockedGemmKernels.TallTileM"/> or <see cref="BlockedGemmKernels.TileM"/> (set by <see cref="Prepare"/>).</summary>
    public int TileRows;

    /// <summary>
    /// Fills the divisors from M, N, G and NSeg (unset segment lengths mean one segment) and picks the tile height:
    /// 16 rows when M has at least 16 (fewer loads per multiply-add), else 4 (less waste on a short M), unless
    /// <paramref name="tileRows"/> names one. Returns the copy.
    /// </summary>
    public readonly BlockedGemmParams Prepare(int nSeg = 0, int tileRows = 0)
    {
        var p = this;
        if (p.KSeg <= 0) p.KSeg = Math.Max(1, p.K);
        p.TileRows = tileRows > 0 ? tileRows : p.M >= BlockedGemmKernels.TallTileM ? BlockedGemmKernels.TallTileM : BlockedGemmKernels.TileM;
        if (p.TileRows != BlockedGemmKernels.TileM && p.TileRows != BlockedGemmKernels.TallTileM)
            throw new ArgumentOutOfRangeException(nameof(tileRows), $"tile rows must be {BlockedGemmKernels.TileM} or {BlockedGemmKernels.TallTileM}");
        int tilesM = (p.M + p.TileRows - 1) / p.TileRows;
        int tilesN = (p.N + BlockedGemmKernels.TileN - 1) / BlockedGemmKernels.TileN;
        p.ByNSeg = FastDiv.For(nSeg > 0 ? nSeg : Math.Max(1, p.N));
        p.ByTilesN = FastDiv.For(Math.Max(1, tilesN));
        p.ByTilesG = FastDiv.For(Math.Max(1, tilesM * tilesN));
        return p;
    }

    /// <summary>Loop iterations of one launch: G · ⌈M/TileRows⌉ · ⌈N/8⌉ tiles.</summary>
    public readonly int Tiles =>
        G * ((M + TileRows - 1) / TileRows) * ((N + BlockedGemmKernels.TileN - 1) / BlockedGemmKernels.TileN);
}

/// <summary>Arguments of <see cref="BlockedGemmKernels.Gemm16x8"/> and <see cref="BlockedGemmKernels.Gemm4x8"/>.</summary>
public struct BlockedGemmArgs
{
    /// <summary>Geometry and epilogue, from <see cref="BlockedGemmParams.Prepare"/>.</summary>
    public BlockedGemmParams P;
    /// <summary>The operands, addressed by P's strides.</summary>
    public ArrayView<float> A, B;
    /// <summary>Bias values, read only when P.BiasMode is not None.</summary>
    public ArrayView<float> Bias;
    /// <summary>The output.</summary>
    public ArrayView<float> C;
}

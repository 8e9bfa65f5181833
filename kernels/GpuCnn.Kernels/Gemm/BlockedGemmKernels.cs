using ILGPU;

namespace GpuCnn.Kernels.Gemm;

/// <summary>
/// Geometry of a register-blocked GEMM, C[g] = relu?(α·A[g]·B[g] + bias + β·C[g]) for g &lt; G, with every operand
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
    /// <summary>0: no bias; 1: bias[n] per column; 2: bias[g·M + m] per row.</summary>
    public int BiasMode;
    /// <summary>1 applies max(0, ·) last.</summary>
    public int Relu;

    /// <summary>Fills the divisors from M, N, G and NSeg (unset segment lengths mean one segment); returns the copy.</summary>
    public readonly BlockedGemmParams Prepare(int nSeg = 0)
    {
        var p = this;
        if (p.KSeg <= 0) p.KSeg = Math.Max(1, p.K);
        int tilesM = (p.M + BlockedGemmKernels.TileM - 1) / BlockedGemmKernels.TileM;
        int tilesN = (p.N + BlockedGemmKernels.TileN - 1) / BlockedGemmKernels.TileN;
        p.ByNSeg = FastDiv.For(nSeg > 0 ? nSeg : Math.Max(1, p.N));
        p.ByTilesN = FastDiv.For(Math.Max(1, tilesN));
        p.ByTilesG = FastDiv.For(Math.Max(1, tilesM * tilesN));
        return p;
    }

    /// <summary>Loop iterations of one launch: G · ⌈M/4⌉ · ⌈N/8⌉ tiles.</summary>
    public readonly int Tiles =>
        G * ((M + BlockedGemmKernels.TileM - 1) / BlockedGemmKernels.TileM) * ((N + BlockedGemmKernels.TileN - 1) / BlockedGemmKernels.TileN);
}

/// <summary>
/// GEMM with a 4×8 tile of C per loop iteration held in 32 scalar accumulators (register tiles must be scalar locals:
/// an indexed local array spills). Each step of k loads 4 values of A and 8 of B for 32 multiply-adds, against 2 loads
/// per multiply-add in <see cref="GemmKernels.Gemm"/>. It uses no shared memory and no barriers, so it suits the CPU
/// accelerator (where a barrier is slow and each iteration is a plain loop), and it runs unchanged on GPUs with one
/// tile per thread.
/// <para>C(g, m, n) = relu?(α·Σ_k A(g, m, k)·B(g, k, n) + bias + β·C(g, m, n)); see <see cref="BlockedGemmParams"/>
/// for the addressing. Edge tiles clamp their loads to the last row and column and store only what lies inside.</para>
/// </summary>
public static class BlockedGemmKernels
{
    /// <summary>Rows and columns of C per tile.</summary>
    public const int TileM = 4, TileN = 8;

    /// <summary>One 4×8 tile per loop iteration; n = <see cref="BlockedGemmParams.Tiles"/>.</summary>
    public static void Gemm4x8(Index1D t, int n, int chunk, BlockedGemmParams p,
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c)
    {
        int end = Chunk.End(t, chunk, n);
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int g = p.ByTilesG.DivRem(e, out int tile);
            int ti = p.ByTilesN.DivRem(tile, out int tj);
            int i0 = ti * TileM, j0 = tj * TileN;
            int mLast = p.M - 1, nLast = p.N - 1;
            int aG = g * p.AStrideG;
            int a0 = aG + i0 * p.AStepM;
            int a1 = aG + Min(i0 + 1, mLast) * p.AStepM;
            int a2 = aG + Min(i0 + 2, mLast) * p.AStepM;
            int a3 = aG + Min(i0 + 3, mLast) * p.AStepM;
            int bG = g * p.BStrideG;
            int b0 = bG + ColumnB(p, j0);
            int b1 = bG + ColumnB(p, Min(j0 + 1, nLast));
            int b2 = bG + ColumnB(p, Min(j0 + 2, nLast));
            int b3 = bG + ColumnB(p, Min(j0 + 3, nLast));
            int b4 = bG + ColumnB(p, Min(j0 + 4, nLast));
            int b5 = bG + ColumnB(p, Min(j0 + 5, nLast));
            int b6 = bG + ColumnB(p, Min(j0 + 6, nLast));
            int b7 = bG + ColumnB(p, Min(j0 + 7, nLast));
            float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0, c05 = 0, c06 = 0, c07 = 0;
            float c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0, c15 = 0, c16 = 0, c17 = 0;
            float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c24 = 0, c25 = 0, c26 = 0, c27 = 0;
            float c30 = 0, c31 = 0, c32 = 0, c33 = 0, c34 = 0, c35 = 0, c36 = 0, c37 = 0;
            // Segments of k (images of a filter gradient) each have constant strides, so the inner loop only adds.
            int segA = 0, segB = 0;
            for (int k0 = 0; k0 < p.K; k0 += p.KSeg)
            {
                int len = p.K - k0 < p.KSeg ? p.K - k0 : p.KSeg;
                int ka = segA, kb = segB;
                for (int kk = 0; kk < len; kk++)
                {
                    float x0 = a[a0 + ka], x1 = a[a1 + ka], x2 = a[a2 + ka], x3 = a[a3 + ka];
                    float y0 = b[b0 + kb], y1 = b[b1 + kb], y2 = b[b2 + kb], y3 = b[b3 + kb];
                    float y4 = b[b4 + kb], y5 = b[b5 + kb], y6 = b[b6 + kb], y7 = b[b7 + kb];
                    c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
                    c04 += x0 * y4; c05 += x0 * y5; c06 += x0 * y6; c07 += x0 * y7;
                    c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
                    c14 += x1 * y4; c15 += x1 * y5; c16 += x1 * y6; c17 += x1 * y7;
                    c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
                    c24 += x2 * y4; c25 += x2 * y5; c26 += x2 * y6; c27 += x2 * y7;
                    c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
                    c34 += x3 * y4; c35 += x3 * y5; c36 += x3 * y6; c37 += x3 * y7;
                    ka += p.AStepK;
                    kb += p.BStepK;
                }
                segA += p.ASegK;
                segB += p.BSegK;
            }
            // Column offsets in C, once per tile (clamped columns are never stored).
            int o0 = ColumnC(p, j0), o1 = ColumnC(p, Min(j0 + 1, nLast)), o2 = ColumnC(p, Min(j0 + 2, nLast));
            int o3 = ColumnC(p, Min(j0 + 3, nLast)), o4 = ColumnC(p, Min(j0 + 4, nLast)), o5 = ColumnC(p, Min(j0 + 5, nLast));
            int o6 = ColumnC(p, Min(j0 + 6, nLast)), o7 = ColumnC(p, Min(j0 + 7, nLast));
            StoreRow(p, g, i0, j0, c, bias, o0, o1, o2, o3, o4, o5, o6, o7, c00, c01, c02, c03, c04, c05, c06, c07);
            if (i0 + 1 < p.M) StoreRow(p, g, i0 + 1, j0, c, bias, o0, o1, o2, o3, o4, o5, o6, o7, c10, c11, c12, c13, c14, c15, c16, c17);
            if (i0 + 2 < p.M) StoreRow(p, g, i0 + 2, j0, c, bias, o0, o1, o2, o3, o4, o5, o6, o7, c20, c21, c22, c23, c24, c25, c26, c27);
            if (i0 + 3 < p.M) StoreRow(p, g, i0 + 3, j0, c, bias, o0, o1, o2, o3, o4, o5, o6, o7, c30, c31, c32, c33, c34, c35, c36, c37);
        }
    }

    static int Min(int x, int y) => x < y ? x : y;

    /// <summary>Offset of column n in B (within a product).</summary>
    static int ColumnB(BlockedGemmParams p, int n)
    {
        int s = p.ByNSeg.DivRem(n, out int r);
        return s * p.BSegN + r * p.BStepN;
    }

    /// <summary>Offset of column n in C (within a row).</summary>
    static int ColumnC(BlockedGemmParams p, int n)
    {
        int s = p.ByNSeg.DivRem(n, out int r);
        return s * p.CSegN + r;
    }

    /// <summary>Eight columns of one row of a tile, at column offsets o0..o7; columns past N are skipped.</summary>
    static void StoreRow(BlockedGemmParams p, int g, int i, int j0, ArrayView<float> c, ArrayView<float> bias,
        int o0, int o1, int o2, int o3, int o4, int o5, int o6, int o7,
        float v0, float v1, float v2, float v3, float v4, float v5, float v6, float v7)
    {
        int row = g * p.CStrideG + i * p.CStepM;
        float rowBias = p.BiasMode == 2 ? bias[g * p.M + i] : 0f;
        Store(p, c, bias, row + o0, rowBias, j0, v0);
        if (j0 + 1 < p.N) Store(p, c, bias, row + o1, rowBias, j0 + 1, v1);
        if (j0 + 2 < p.N) Store(p, c, bias, row + o2, rowBias, j0 + 2, v2);
        if (j0 + 3 < p.N) Store(p, c, bias, row + o3, rowBias, j0 + 3, v3);
        if (j0 + 4 < p.N) Store(p, c, bias, row + o4, rowBias, j0 + 4, v4);
        if (j0 + 5 < p.N) Store(p, c, bias, row + o5, rowBias, j0 + 5, v5);
        if (j0 + 6 < p.N) Store(p, c, bias, row + o6, rowBias, j0 + 6, v6);
        if (j0 + 7 < p.N) Store(p, c, bias, row + o7, rowBias, j0 + 7, v7);
    }

    static void Store(BlockedGemmParams p, ArrayView<float> c, ArrayView<float> bias, int at, float rowBias, int n, float acc)
    {
        float v = p.Alpha * acc + rowBias;
        if (p.BiasMode == 1) v += bias[n];
        if (p.Beta != 0f) v += p.Beta * c[at];
        c[at] = p.Relu != 0 && v < 0f ? 0f : v;
    }
}

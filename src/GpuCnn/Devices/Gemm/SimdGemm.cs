using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;

namespace GpuCnn.Devices;

/// <summary>
/// Host SGEMM over host memory with the strided addressing of <see cref="BlockedGemmParams"/> (dense matrices, their
/// transposes, images as segments of n or k): C[g] = act(α·A[g]·B[g] + bias + β·C[g]). BLIS-style: C is cut into
/// <see cref="MC"/>×<see cref="NC"/> tiles (the units the threads share), the reduction into blocks of
/// <see cref="KB"/>; each block packs A into <see cref="MR"/>-row panels and B into <see cref="NR"/>-column panels
/// (a panel already contiguous in B is read in place), and <see cref="SimdMicroKernel4{TS,TV}"/> (AVX-512) or
/// <see cref="SimdMicroKernel{TS,TV}"/> multiplies them into the tile's accumulator buffer. The epilogue (α, bias,
/// β, activation) runs once per output, in the blocked kernel's order.
/// <para>Deterministic: each output is one chain of multiply-adds over k in order (the accumulators are stored and
/// reloaded exactly between blocks), so neither the tiles nor the kernels change a bit. Only a product with fewer
/// tiles of a fixed grid than <see cref="ParallelTarget"/> and a long reduction is split along k, into slices of
/// whole <see cref="KC"/> blocks fixed by its shape, summed in slice order; so the bits never depend on the thread
/// count.</para>
/// </summary>
internal static unsafe partial class SimdGemm
{
    /// <summary>
    /// Rows of the micro-tile, the unit of k's slices, rows per thread tile (a packed B panel serves MC/MR row
    /// panels, which amortises its packing).
    /// </summary>
    public const int MR = 6, KC = 256, MC = 32 * MR;

    /// <summary>Floats per vector: 16 with AVX-512, 8 with AVX, else 4 (SSE, NEON).</summary>
    public static readonly int Width = Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 4;

    /// <summary>Vectors per micro-tile row: four with AVX-512's 32 registers (24 accumulators), else two (12).</summary>
    public static readonly int NV = Width == 16 ? 4 : 2;

    /// <summary>Columns of the micro-tile and of a thread tile.</summary>
    public static readonly int NR = NV * Width, NC = 16 * Width;

    /// <summary>
    /// Steps of k per packed B panel: KB·NR floats stay within 32 KiB, so a panel shares the L1 cache with A's rows.
    /// Only a blocking of the loop: the slices of k (<see cref="KC"/>) and so the bits do not depend on it.
    /// </summary>
    public static readonly int KB = Math.Min(KC, 8192 / NR);

    /// <summary>The grid that fixes the slices of k: 96×(16·Width) tiles, whatever the tiles' geometry.</summary>
    const int SliceRows = 96;
    static readonly int SliceCols = 16 * Width;

    /// <summary>Work items a product should offer before it is split along k (a constant, not the thread count).</summary>
    public const int ParallelTarget = 8;

    static readonly int[] PackedOffsets = Enumerable.Range(0, KC).Select(k => k * NR).ToArray(); // a packed B panel: k-major rows of NR

    [ThreadStatic] static Scratch? scratch;

    sealed class Scratch
    {
        public readonly float[] A = new float[MC * KC], B = new float[KC * NR], Acc = new float[MC * NC];
        public readonly int[] KOffA = new int[KC], KOffB = new int[KC], NOffB = new int[NC], NOffC = new int[NC];
    }

    /// <summary>
    /// One product's geometry and its operands' host addresses, as the pool's work: the tiles of every slice, then (when
    /// k is split) the reduction of each tile. Kept per calling thread with its partial sums, so a product allocates nothing.
    /// </summary>
    sealed class Job : IHostWork
    {
        public BlockedGemmParams P;
        public nint A, B, Bias, C;
        public int NSeg, Rows, TilesM, TilesN, Tiles, Slices, KPerSlice;
        public bool Reducing;
        public float[] Partial = Array.Empty<float>(); // Slices > 1: each slice's accumulators per tile, MC×NC each

        public void Execute(int index)
        {
            if (Reducing) ReduceTile(this, index);
            else RunTile(this, index);
        }
    }

    [ThreadStatic] static Job? callerJob;

    /// <summary>
    /// Computes the product of prepared parameters <paramref name="p"/> (<see cref="BlockedGemmParams.Prepare"/>) on
    /// host pointers, with up to <paramref name="threads"/> threads. <paramref name="bias"/> may be null without a bias.
    /// </summary>
    public static void Run(in BlockedGemmParams p, float* a, float* b, float* bias, float* c, int threads)
    {
        if (p.M <= 0 || p.N <= 0 || p.G <= 0) return;
        if (p.KSeg <= 0 || p.ByNSeg.D <= 0) throw new ArgumentException("SIMD GEMM parameters must come from BlockedGemmParams.Prepare", nameof(p));
        var job = callerJob ??= new Job();
        (job.P, job.A, job.B, job.Bias, job.C, job.NSeg, job.Reducing) = (p, (nint)a, (nint)b, (nint)bias, (nint)c, p.ByNSeg.D, false);
        // Tiles of MC rows, or half that where a product would otherwise offer fewer than two tiles a thread.
        int pool = Math.Min(threads, HostPool.Threads);
        job.Rows = (long)p.G * ((p.M + MC - 1) / MC) * ((p.N + NC - 1) / NC) >= 2 * pool ? MC : MC / 2;
        job.TilesM = (p.M + job.Rows - 1) / job.Rows;
        job.TilesN = (p.N + NC - 1) / NC;
        job.Tiles = p.G * job.TilesM * job.TilesN;
        // The slices of k depend on the shape alone, through the tile count of a fixed 96×(16·Width) grid (the first
        // version's tiles), so that tuning the tiles never changes the bits.
        int blocks = Math.Max(1, (p.K + KC - 1) / KC);
        int sliceTiles = p.G * ((p.M + SliceRows - 1) / SliceRows) * ((p.N + SliceCols - 1) / SliceCols);
        int slices = sliceTiles >= ParallelTarget || blocks < 2 ? 1 : Math.Min(blocks, (ParallelTarget + sliceTiles - 1) / sliceTiles);
        job.KPerSlice = (blocks + slices - 1) / slices * KC;
        job.Slices = Math.Max(1, (p.K + job.KPerSlice - 1) / job.KPerSlice);
        long partial = (long)job.Slices * job.Tiles * MC * NC;
        if (job.Slices > 1 && job.Partial.Length < partial) job.Partial = GC.AllocateUninitializedArray<float>((int)partial);
        HostPool.Run(job, job.Slices * job.Tiles, threads);
        if (job.Slices > 1)
        {
            job.Reducing = true;
            HostPool.Run(job, job.Tiles, threads);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RunTile(Job job, int item)
    {
        var s = scratch ??= new Scratch();
        ref readonly var p = ref job.P;
        int slice = item / job.Tiles, tile = item - slice * job.Tiles;
        Locate(job, tile, out int g, out int m0, out int mLen, out int n0, out int nLen);
        int kBeg = slice * job.KPerSlice, kEnd = Math.Min(p.K, kBeg + job.KPerSlice);
        int nr = NR, mPanels = (mLen + MR - 1) / MR, nPanels = (nLen + nr - 1) / nr;
        ColumnOffsets(job, n0, nLen, s.NOffB, s.NOffC);
        float* a = (float*)job.A + (long)g * p.AStrideG, b = (float*)job.B + (long)g * p.BStrideG;
        fixed (float* ap = s.A, bp = s.B, acc = s.Acc)
        fixed (int* koffA = s.KOffA, koffB = s.KOffB, noffB = s.NOffB, packedOff = PackedOffsets)
        {
            if (kBeg >= kEnd) new Span<float>(acc, MC * NC).Clear(); // K = 0: the product is 0
            for (int k0 = kBeg; k0 < kEnd; k0 += KB)
            {
                int kc = Math.Min(KB, kEnd - k0);
                ReductionOffsets(p, k0, kc, koffA, koffB);
                // A's full row panels are read in place when the block's k is contiguous in A's rows; the others are
                // packed as MR-row panels, k-major, zero rows past M.
                bool aInPlace = p.AStepK == 1 && koffA[kc - 1] - koffA[0] == kc - 1;
                for (int mp = 0; mp < mPanels; mp++)
                {
                    if (aInPlace && m0 + mp * MR + MR <= p.M) continue;
                    if (p.AStepM == 1 && m0 + mp * MR + MR <= p.M) // Aᵀ (Wᵀ of a data gradient): a panel's rows are adjacent
                    {
                        PackAdjacentRows(a + m0 + mp * MR, koffA, kc, ap + mp * MR * kc);
                        continue;
                    }
                    for (int r = 0; r < MR; r++)
                    {
                        int m = m0 + mp * MR + r;
                        float* dst = ap + mp * MR * kc + r;
                        if (m < p.M)
                        {
                            float* row = a + (long)m * p.AStepM;
                            for (int k = 0; k < kc; k++) dst[k * MR] = row[koffA[k]];
                        }
                        else for (int k = 0; k < kc; k++) dst[k * MR] = 0f;
                    }
                }
                for (int np = 0; np < nPanels; np++)
                {
                    int j0 = np * nr;
                    // A last panel with at most half the columns takes the two-vector kernel (NV = 4).
                    bool narrow = NV == 4 && nLen - j0 <= nr / 2;
                    float* panel;
                    int* offs;
                    // Contiguous columns under few row panels are read in place; a panel that many row panels reuse is
                    // packed, so its rows are adjacent (B's rows a power of two apart would share a few cache sets).
                    bool contiguous = j0 + nr <= nLen && p.BStepN == 1 && noffB[j0 + nr - 1] - noffB[j0] == nr - 1;
                    if (mPanels <= 2 && contiguous)
                    {
                        panel = b + noffB[j0];
                        offs = koffB;
                    }
                    else
                    {
                        PackB(b, koffB, noffB, j0, nLen, kc, contiguous, narrow ? nr / 2 : nr, bp);
                        panel = bp;
                        offs = packedOff;
                    }
                    for (int mp = 0; mp < mPanels; mp++)
                    {
                        int mRow = m0 + mp * MR;
                        if (aInPlace && mRow + MR <= p.M)
                            Micro(a + (long)mRow * p.AStepM + koffA[0], (nint)p.AStepM, 1, panel, offs, kc, acc + mp * MR * NC + j0, NC, k0 == kBeg, narrow);
                        else Micro(ap + mp * MR * kc, 1, MR, panel, offs, kc, acc + mp * MR * NC + j0, NC, k0 == kBeg, narrow);
                    }
                }
            }
            if (job.Slices == 1) Epilogue(job, g, m0, mLen, n0, nLen, acc, s.NOffC);
            else new Span<float>(acc, MC * NC).CopyTo(job.Partial.AsSpan((slice * job.Tiles + tile) * MC * NC, MC * NC));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ReduceTile(Job job, int tile)
    {
        var s = scratch ??= new Scratch();
        Locate(job, tile, out int g, out int m0, out int mLen, out int n0, out int nLen);
        ColumnOffsets(job, n0, nLen, s.NOffB, s.NOffC);
        var sum = s.Acc.AsSpan(0, MC * NC);
        job.Partial.AsSpan(tile * MC * NC, MC * NC).CopyTo(sum);
        for (int slice = 1; slice < job.Slices; slice++)
        {
            var part = job.Partial.AsSpan((slice * job.Tiles + tile) * MC * NC, MC * NC);
            for (int i = 0; i < mLen; i++)
                for (int j = 0; j < nLen; j++) sum[i * NC + j] += part[i * NC + j];
        }
        fixed (float* acc = s.Acc) Epilogue(job, g, m0, mLen, n0, nLen, acc, s.NOffC);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Micro(float* a, nint aStepR, nint aStepK, float* b, int* offs, int kc, float* acc, int ld, bool first, bool narrow)
    {
        if (Width == 16 && narrow) SimdMicroKernel<V512, Vector512<float>>.Run(a, aStepR, aStepK, b, offs, kc, acc, ld, first);
        else if (Width == 16) SimdMicroKernel4<V512, Vector512<float>>.Run(a, aStepR, aStepK, b, offs, kc, acc, ld, first);
        else if (Width == 8) SimdMicroKernel<V256, Vector256<float>>.Run(a, aStepR, aStepK, b, offs, kc, acc, ld, first);
        else SimdMicroKernel<V128, Vector128<float>>.Run(a, aStepR, aStepK, b, offs, kc, acc, ld, first);
    }

    static void Locate(Job job, int tile, out int g, out int m0, out int mLen, out int n0, out int nLen)
    {
        int perG = job.TilesM * job.TilesN;
        g = tile / perG;
        int r = tile - g * perG, tm = r / job.TilesN, tn = r - tm * job.TilesN;
        m0 = tm * job.Rows;
        mLen = Math.Min(job.Rows, job.P.M - m0);
        n0 = tn * NC;
        nLen = Math.Min(NC, job.P.N - n0);
    }

    /// <summary>C = act(α·acc + bias + β·C) for the tile's outputs, in the blocked kernel's order of operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Epilogue(Job job, int g, int m0, int mLen, int n0, int nLen, float* acc, int[] noffC)
    {
        ref readonly var p = ref job.P;
        float* bias = (float*)job.Bias;
        var act = p.Activation;
        if (VectorActivation(p))
        {
            // Runs of columns adjacent in C (a whole tile of a dense C, or each image's part of a segmented one), each
            // in vectors; the same operations per output as the scalar loop below.
            for (int j = 0; j < nLen;)
            {
                int run = Run(noffC, j, nLen);
                for (int i = 0; i < mLen; i++)
                {
                    int m = m0 + i;
                    float* dst = (float*)job.C + (long)g * p.CStrideG + (long)m * p.CStepM + noffC[j];
                    float rowBias = p.BiasMode == BiasMode.PerRow ? bias[g * p.M + m] : 0f;
                    float* colBias = p.BiasMode == BiasMode.PerColumn ? bias + n0 + j : null;
                    if (Width == 16) RowEpilogue<V512, Vector512<float>>(p, acc + i * NC + j, dst, colBias, rowBias, run);
                    else if (Width == 8) RowEpilogue<V256, Vector256<float>>(p, acc + i * NC + j, dst, colBias, rowBias, run);
                    else RowEpilogue<V128, Vector128<float>>(p, acc + i * NC + j, dst, colBias, rowBias, run);
                }
                j += run;
            }
            return;
        }
        for (int i = 0; i < mLen; i++)
        {
            int m = m0 + i;
            float* row = (float*)job.C + (long)g * p.CStrideG + (long)m * p.CStepM;
            float rowBias = p.BiasMode == BiasMode.PerRow ? bias[g * p.M + m] : 0f;
            float* src = acc + i * NC;
            for (int j = 0; j < nLen; j++)
            {
                float v = p.Alpha * src[j] + rowBias;
                if (p.BiasMode == BiasMode.PerColumn) v += bias[n0 + j];
                int at = noffC[j];
                if (p.Beta != 0f) v += p.Beta * row[at];
                row[at] = act.Apply(v);
            }
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="SimdGemm"/>'s B packing and epilogue in vectors. Both move or combine the same values with the same
/// operations as their scalar forms (a multiply and an add each rounded, never fused), so the bits are unchanged.
/// </summary>
internal static unsafe partial class SimdGemm
{
    /// <summary>
    /// Packs B's columns j0..j0+<paramref name="width"/> of the tile for kc steps, k-major, in rows NR apart: row by row,
    /// so each step reads B's row k where it lies (NV vectors when the panel's columns are contiguous in B); columns
    /// past <paramref name="nLen"/> are zero, or copies of a live column that no output reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackB(float* b, int* koffB, int* noffB, int j0, int nLen, int kc, bool contiguous, int width, float* bp)
    {
        int nr = NR;
        if (contiguous)
        {
            float* src = b + noffB[j0];
            if (Width == 16) CopyRows<V512, Vector512<float>>(src, koffB, kc, bp);
            else if (Width == 8) CopyRows<V256, Vector256<float>>(src, koffB, kc, bp);
            else CopyRows<V128, Vector128<float>>(src, koffB, kc, bp);
            return;
        }
        int live = Math.Min(nr, nLen - j0);
        if (Run(noffB, j0, j0 + live) >= Math.Min(live, 4))
        {
            // Columns in runs adjacent in B (each image's part of the panel, or the live columns of a last panel):
            // each run copied row by row in vectors, the columns past the live ones zero.
            for (int j = j0; j < j0 + live;)
            {
                int run = Run(noffB, j, j0 + live);
                float* src = b + noffB[j], dst = bp + (j - j0);
                if (Width == 16) CopyRun<V512, Vector512<float>>(src, koffB, kc, dst, nr, run);
                else if (Width == 8) CopyRun<V256, Vector256<float>>(src, koffB, kc, dst, nr, run);
                else CopyRun<V128, Vector128<float>>(src, koffB, kc, dst, nr, run);
                j += run;
            }
            if (live < width)
                for (int k = 0; k < kc; k++) new Span<float>(bp + k * nr + live, width - live).Clear();
            return;
        }
        if (CanTranspose(koffB, kc))
        {
            PackTransposed(b, koffB, noffB, j0, live, width, kc, bp);
            return;
        }
        for (int k = 0; k < kc; k++)
        {
            float* row = b + koffB[k], dst = bp + k * nr;
            for (int j = 0; j < live; j++) dst[j] = row[noffB[j0 + j]];
            for (int j = live; j < width; j++) dst[j] = 0f;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void CopyRows<TS, TV>(float* src, int* koffB, int kc, float* dst) where TS : struct, ISimdVector<TV> where TV : struct
    {
        int w = TS.Width;
        if (NV == 4)
            for (int k = 0; k < kc; k++, dst += 4 * w)
            {
                float* row = src + koffB[k];
                TS.Store(dst, TS.Load(row));
                TS.Store(dst + w, TS.Load(row + w));
                TS.Store(dst + 2 * w, TS.Load(row + 2 * w));
                TS.Store(dst + 3 * w, TS.Load(row + 3 * w));
            }
        else
            for (int k = 0; k < kc; k++, dst += 2 * w)
            {
                float* row = src + koffB[k];
                TS.Store(dst, TS.Load(row));
                TS.Store(dst + w, TS.Load(row + w));
            }
    }

    /// <summary>Packs an A row panel whose MR rows are adjacent at each step of k (A's rows one float apart): MR floats a step.</summary>
    static void PackAdjacentRows(float* a, int* koffA, int kc, float* dst)
    {
        for (int k = 0; k < kc; k++, dst += MR)
        {
            float* src = a + koffA[k];
            Vector128.Load(src).Store(dst); // MR = 6: four in a vector, two alone
            dst[4] = src[4];
            dst[5] = src[5];
        }
    }

    /// <summary>Copies <paramref name="len"/> adjacent columns of kc rows of B into a packed panel (rows ld apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void CopyRun<TS, TV>(float* src, int* koffB, int kc, float* dst, int ld, int len) where TS : struct, ISimdVector<TV> where TV : struct
    {
        int w = TS.Width;
        for (int k = 0; k < kc; k++, dst += ld)
        {
            float* row = src + koffB[k];
            int t = 0;
            for (; t + w <= len; t += w) TS.Store(dst + t, TS.Load(row + t));
            for (; t < len; t++) dst[t] = row[t];
        }
    }

    /// <summary>How many of the columns from <paramref name="j"/> (before <paramref name="end"/>) are adjacent to it in memory.</summary>
    static int Run(int* offs, int j, int end)
    {
        int r = 1;
        while (j + r < end && offs[j + r] == offs[j] + r) r++;
        return r;
    }

    static int Run(int[] offs, int j, int end)
    {
        fixed (int* o = offs) return Run(o, j, end);
    }

    /// <summary>
    /// The epilogue of one row whose outputs are adjacent: v = α·acc + rowBias (+ bias[n]) (+ β·C), then no activation
    /// or ReLU, vector by vector, the tail in scalars; exactly the scalar epilogue's operations in its order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void RowEpilogue<TS, TV>(in BlockedGemmParams p, float* src, float* dst, float* colBias, float rowBias, int nLen)
        where TS : struct, ISimdVector<TV> where TV : struct
    {
        int w = TS.Width, j = 0;
        bool perColumn = p.BiasMode == BiasMode.PerColumn, beta = p.Beta != 0f, relu = p.Activation.IsEnabled;
        TV alpha = TS.Splat(p.Alpha), rb = TS.Splat(rowBias), bt = TS.Splat(p.Beta);
        for (; j + w <= nLen; j += w)
        {
            TV v = TS.MulThenAdd(alpha, TS.Load(src + j), rb);
            if (perColumn) v = TS.Add(v, TS.Load(colBias + j));
            if (beta) v = TS.MulThenAdd(bt, TS.Load(dst + j), v);
            if (relu) v = TS.Relu(v);
            TS.Store(dst + j, v);
        }
        for (; j < nLen; j++)
        {
            float v = p.Alpha * src[j] + rowBias;
            if (perColumn) v += colBias[j];
            if (beta) v += p.Beta * dst[j];
            dst[j] = p.Activation.Apply(v);
        }
    }

    /// <summary>True when <see cref="RowEpilogue{TS, TV}"/> computes this product's activation (none or ReLU).</summary>
    static bool VectorActivation(in BlockedGemmParams p) =>
        !p.Activation.IsEnabled || (p.Activation.Slope == 0f && p.Activation.Alpha == 0f);
}

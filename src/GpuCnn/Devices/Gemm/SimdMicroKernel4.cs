using System.Runtime.CompilerServices;

namespace GpuCnn.Devices;

/// <summary>
/// The wide register-blocked micro-kernel for 32-register vector units (AVX-512): an <see cref="SimdGemm.MR"/>×(4 vectors)
/// tile of C in 24 accumulators. Each step of k broadcasts MR values of A and loads four vectors of B, for 4·MR fused
/// multiply-adds: half the broadcasts per multiply-add of the two-vector kernel. The same chain per output as
/// <see cref="SimdMicroKernel{TS, TV}"/>: it starts from the tile buffer (zero for the first block) and adds k in order.
/// </summary>
internal static unsafe class SimdMicroKernel4<TS, TV> where TS : struct, ISimdVector<TV> where TV : struct
{
    /// <summary>As <see cref="SimdMicroKernel{TS, TV}.Run"/>, for four vectors of columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* a, nint aStepR, nint aStepK, float* b, int* bOff, int kc, float* acc, int ldAcc, bool first)
    {
        int w = TS.Width;
        nint r2 = 2 * aStepR, r3 = 3 * aStepR, r4 = 4 * aStepR, r5 = 5 * aStepR;
        TV c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
        if (first)
        {
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = c40 = c41 = c42 = c43 = c50 = c51 = c52 = c53 = TS.Splat(0f);
        }
        else
        {
            c00 = TS.Load(acc); c01 = TS.Load(acc + w); c02 = TS.Load(acc + 2 * w); c03 = TS.Load(acc + 3 * w);
            c10 = TS.Load(acc + ldAcc); c11 = TS.Load(acc + ldAcc + w); c12 = TS.Load(acc + ldAcc + 2 * w); c13 = TS.Load(acc + ldAcc + 3 * w);
            c20 = TS.Load(acc + 2 * ldAcc); c21 = TS.Load(acc + 2 * ldAcc + w); c22 = TS.Load(acc + 2 * ldAcc + 2 * w); c23 = TS.Load(acc + 2 * ldAcc + 3 * w);
            c30 = TS.Load(acc + 3 * ldAcc); c31 = TS.Load(acc + 3 * ldAcc + w); c32 = TS.Load(acc + 3 * ldAcc + 2 * w); c33 = TS.Load(acc + 3 * ldAcc + 3 * w);
            c40 = TS.Load(acc + 4 * ldAcc); c41 = TS.Load(acc + 4 * ldAcc + w); c42 = TS.Load(acc + 4 * ldAcc + 2 * w); c43 = TS.Load(acc + 4 * ldAcc + 3 * w);
            c50 = TS.Load(acc + 5 * ldAcc); c51 = TS.Load(acc + 5 * ldAcc + w); c52 = TS.Load(acc + 5 * ldAcc + 2 * w); c53 = TS.Load(acc + 5 * ldAcc + 3 * w);
        }
        for (int k = 0; k < kc; k++)
        {
            float* bk = b + bOff[k];
            TV y0 = TS.Load(bk), y1 = TS.Load(bk + w), y2 = TS.Load(bk + 2 * w), y3 = TS.Load(bk + 3 * w);
            TV x = TS.Splat(a[0]);
            c00 = TS.MulAdd(x, y0, c00); c01 = TS.MulAdd(x, y1, c01); c02 = TS.MulAdd(x, y2, c02); c03 = TS.MulAdd(x, y3, c03);
            x = TS.Splat(a[aStepR]);
            c10 = TS.MulAdd(x, y0, c10); c11 = TS.MulAdd(x, y1, c11); c12 = TS.MulAdd(x, y2, c12); c13 = TS.MulAdd(x, y3, c13);
            x = TS.Splat(a[r2]);
            c20 = TS.MulAdd(x, y0, c20); c21 = TS.MulAdd(x, y1, c21); c22 = TS.MulAdd(x, y2, c22); c23 = TS.MulAdd(x, y3, c23);
            x = TS.Splat(a[r3]);
            c30 = TS.MulAdd(x, y0, c30); c31 = TS.MulAdd(x, y1, c31); c32 = TS.MulAdd(x, y2, c32); c33 = TS.MulAdd(x, y3, c33);
            x = TS.Splat(a[r4]);
            c40 = TS.MulAdd(x, y0, c40); c41 = TS.MulAdd(x, y1, c41); c42 = TS.MulAdd(x, y2, c42); c43 = TS.MulAdd(x, y3, c43);
            x = TS.Splat(a[r5]);
            c50 = TS.MulAdd(x, y0, c50); c51 = TS.MulAdd(x, y1, c51); c52 = TS.MulAdd(x, y2, c52); c53 = TS.MulAdd(x, y3, c53);
            a += aStepK;
        }
        TS.Store(acc, c00); TS.Store(acc + w, c01); TS.Store(acc + 2 * w, c02); TS.Store(acc + 3 * w, c03);
        TS.Store(acc + ldAcc, c10); TS.Store(acc + ldAcc + w, c11); TS.Store(acc + ldAcc + 2 * w, c12); TS.Store(acc + ldAcc + 3 * w, c13);
        TS.Store(acc + 2 * ldAcc, c20); TS.Store(acc + 2 * ldAcc + w, c21); TS.Store(acc + 2 * ldAcc + 2 * w, c22); TS.Store(acc + 2 * ldAcc + 3 * w, c23);
        TS.Store(acc + 3 * ldAcc, c30); TS.Store(acc + 3 * ldAcc + w, c31); TS.Store(acc + 3 * ldAcc + 2 * w, c32); TS.Store(acc + 3 * ldAcc + 3 * w, c33);
        TS.Store(acc + 4 * ldAcc, c40); TS.Store(acc + 4 * ldAcc + w, c41); TS.Store(acc + 4 * ldAcc + 2 * w, c42); TS.Store(acc + 4 * ldAcc + 3 * w, c43);
        TS.Store(acc + 5 * ldAcc, c50); TS.Store(acc + 5 * ldAcc + w, c51); TS.Store(acc + 5 * ldAcc + 2 * w, c52); TS.Store(acc + 5 * ldAcc + 3 * w, c53);
    }
}

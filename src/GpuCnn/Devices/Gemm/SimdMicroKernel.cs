using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace GpuCnn.Devices;

/// <summary>One width of host SIMD vector, as the micro-kernel uses it (a struct, so the JIT specialises the kernel).</summary>
internal unsafe interface ISimdVector<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Width { get; }
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);
    static abstract TV Splat(float x);
    /// <summary>
    /// a·b + c, fused where the CPU has FMA (x64 FMA3, arm64 AdvSimd; the checks are JIT-time constants), else a multiply
    /// and an add: the same instruction for every output, so results do not depend on tiling.
    /// </summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
    /// <summary>a·b + c as a rounded multiply and a rounded add (the scalar epilogue's operations, lane by lane).</summary>
    static abstract TV MulThenAdd(TV a, TV b, TV c);
    static abstract TV Add(TV a, TV b);
    /// <summary>ReLU as <c>v &lt; 0 ? 0 : v</c> per lane (keeps −0 and NaN, like the scalar form).</summary>
    static abstract TV Relu(TV v);
}

internal unsafe struct V512 : ISimdVector<Vector512<float>>
{
    public static int Width => 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector512.FusedMultiplyAdd(a, b, c) : a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MulThenAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> v) => Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), Vector512<float>.Zero, v);
}

internal unsafe struct V256 : ISimdVector<Vector256<float>>
{
    public static int Width => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector256.FusedMultiplyAdd(a, b, c) : a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulThenAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Relu(Vector256<float> v) => Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), Vector256<float>.Zero, v);
}

internal unsafe struct V128 : ISimdVector<Vector128<float>>
{
    public static int Width => 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector128.FusedMultiplyAdd(a, b, c) : a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MulThenAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => a * b + c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Relu(Vector128<float> v) => Vector128.ConditionalSelect(Vector128.LessThan(v, Vector128<float>.Zero), Vector128<float>.Zero, v);
}

/// <summary>
/// The register-blocked micro-kernel: an <see cref="SimdGemm.MR"/>×(2 vectors) tile of C in twelve vector
/// accumulators. Each step of k broadcasts MR packed values of A and loads two vectors of B, for 2·MR fused
/// multiply-adds. The accumulators start from the tile buffer (zero for the first block of k), so each output sums
/// its k in one fixed order whatever the threads or the tile's position.
/// </summary>
internal static unsafe class SimdMicroKernel<TS, TV> where TS : struct, ISimdVector<TV> where TV : struct
{
    /// <summary>
    /// acc[r, 0..2W) (+)= Σ_k a[r·aStepR + k·aStepK]·b[bOff[k] .. +2W) for r &lt; MR; acc rows are <paramref name="ldAcc"/>
    /// apart. A is a packed panel (steps 1 and MR) or, when its k is contiguous, MR rows read in place (steps lda and 1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no tier-0 GEMM
    public static void Run(float* a, nint aStepR, nint aStepK, float* b, int* bOff, int kc, float* acc, int ldAcc, bool first)
    {
        int w = TS.Width;
        nint r2 = 2 * aStepR, r3 = 3 * aStepR, r4 = 4 * aStepR, r5 = 5 * aStepR;
        TV c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (first)
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = TS.Splat(0f);
        }
        else
        {
            c00 = TS.Load(acc); c01 = TS.Load(acc + w);
            c10 = TS.Load(acc + ldAcc); c11 = TS.Load(acc + ldAcc + w);
            c20 = TS.Load(acc + 2 * ldAcc); c21 = TS.Load(acc + 2 * ldAcc + w);
            c30 = TS.Load(acc + 3 * ldAcc); c31 = TS.Load(acc + 3 * ldAcc + w);
            c40 = TS.Load(acc + 4 * ldAcc); c41 = TS.Load(acc + 4 * ldAcc + w);
            c50 = TS.Load(acc + 5 * ldAcc); c51 = TS.Load(acc + 5 * ldAcc + w);
        }
        for (int k = 0; k < kc; k++)
        {
            float* bk = b + bOff[k];
            TV y0 = TS.Load(bk), y1 = TS.Load(bk + w);
            TV x = TS.Splat(a[0]);
            c00 = TS.MulAdd(x, y0, c00); c01 = TS.MulAdd(x, y1, c01);
            x = TS.Splat(a[aStepR]);
            c10 = TS.MulAdd(x, y0, c10); c11 = TS.MulAdd(x, y1, c11);
            x = TS.Splat(a[r2]);
            c20 = TS.MulAdd(x, y0, c20); c21 = TS.MulAdd(x, y1, c21);
            x = TS.Splat(a[r3]);
            c30 = TS.MulAdd(x, y0, c30); c31 = TS.MulAdd(x, y1, c31);
            x = TS.Splat(a[r4]);
            c40 = TS.MulAdd(x, y0, c40); c41 = TS.MulAdd(x, y1, c41);
            x = TS.Splat(a[r5]);
            c50 = TS.MulAdd(x, y0, c50); c51 = TS.MulAdd(x, y1, c51);
            a += aStepK;
        }
        TS.Store(acc, c00); TS.Store(acc + w, c01);
        TS.Store(acc + ldAcc, c10); TS.Store(acc + ldAcc + w, c11);
        TS.Store(acc + 2 * ldAcc, c20); TS.Store(acc + 2 * ldAcc + w, c21);
        TS.Store(acc + 3 * ldAcc, c30); TS.Store(acc + 3 * ldAcc + w, c31);
        TS.Store(acc + 4 * ldAcc, c40); TS.Store(acc + 4 * ldAcc + w, c41);
        TS.Store(acc + 5 * ldAcc, c50); TS.Store(acc + 5 * ldAcc + w, c51);
    }
}

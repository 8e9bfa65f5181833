using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The host SIMD GEMM's bit contract, which lets its tiles, micro-kernels and packing change without changing any
/// result: each output is one chain of multiply-adds over k in order from zero (fused where the CPU has FMA), then
/// the epilogue's rounded operations. Checked bit for bit against a scalar emulation on the layouts whose packing
/// paths differ (dense, Bᵀ, images as column segments, the filter gradient's segmented k with a transposed B), plus
/// the filter gradient's layout against the double reference.
/// </summary>
public class SimdGemmBitsTests
{
    /// <summary>Products of at most 256 steps of k (one slice): every output is exactly the emulated chain.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Outputs_are_one_multiply_add_chain_over_k_in_order(string backend)
    {
        var dev = Backends.Simd(backend);
        int seg = 37; // not a multiple of the vector width, so panels and 16-step runs straddle images
        var cases = new (string What, BlockedGemmParams P, int NSeg)[]
        {
            ("dense", new BlockedGemmParams { M = 200, N = 150, K = 250, G = 1, AStepM = 251, AStepK = 1, BStepK = 152, BStepN = 1, CStepM = 151, Alpha = 0.5f, Beta = 0.25f, BiasMode = BiasMode.PerColumn, Activation = FusedActivation.Relu }, 0),
            ("Bᵀ, narrow last panel", new BlockedGemmParams { M = 13, N = 89, K = 211, G = 1, AStepM = 211, AStepK = 1, BStepK = 1, BStepN = 213, CStepM = 89, Alpha = 1 }, 0),
            ("columns in image segments", new BlockedGemmParams { M = 16, N = 5 * seg, K = 150, G = 1, AStepM = 150, AStepK = 1, BStepK = 5 * seg, BStepN = 1, BSegN = seg, CStepM = seg, CSegN = 16 * seg + 3, Alpha = 1, BiasMode = BiasMode.PerRow, Activation = FusedActivation.Relu }, seg),
            ("filter gradient", FilterGradient(m: 6, n: 25, plane: seg, images: 6), 0),
        };
        bool fused = Fma.IsSupported || AdvSimd.IsSupported;
        foreach (var (what, raw, nSeg) in cases)
        {
            var p = raw.Prepare(nSeg);
            Assert.True(p.K <= SimdGemm.KC, "one slice of k");
            int kSeg = p.KSeg, ns = nSeg > 0 ? nSeg : p.N;
            long A(int m, int k) => (long)m * p.AStepM + (long)(k / kSeg) * p.ASegK + (long)(k % kSeg) * p.AStepK;
            long B(int k, int n) => (long)(k / kSeg) * p.BSegK + (long)(k % kSeg) * p.BStepK + (long)(n / ns) * p.BSegN + (long)(n % ns) * p.BStepN;
            long C(int m, int n) => (long)m * p.CStepM + (long)(n / ns) * p.CSegN + n % ns;
            var rng = new Random(p.M + p.N + p.K);
            var a = GradCheck.RandomFloats(rng, (int)(A(p.M - 1, p.K - 1) + 1), 1);
            var b = GradCheck.RandomFloats(rng, (int)(B(p.K - 1, p.N - 1) + 1), 1);
            var c = GradCheck.RandomFloats(rng, (int)(C(p.M - 1, p.N - 1) + 1), 1);
            var bias = GradCheck.RandomFloats(rng, Math.Max(p.M, p.N), 1);
            var expect = (float[])c.Clone();
            for (int m = 0; m < p.M; m++)
                for (int n = 0; n < p.N; n++)
                {
                    float acc = 0f;
                    for (int k = 0; k < p.K; k++) acc = fused ? MathF.FusedMultiplyAdd(a[A(m, k)], b[B(k, n)], acc) : a[A(m, k)] * b[B(k, n)] + acc;
                    float v = p.Alpha * acc + (p.BiasMode == BiasMode.PerRow ? bias[m] : 0f);
                    if (p.BiasMode == BiasMode.PerColumn) v += bias[n];
                    if (p.Beta != 0f) v += p.Beta * c[C(m, n)];
                    expect[C(m, n)] = p.Activation.Apply(v);
                }
            using var da = dev.Accelerator.Allocate1D(a);
            using var db = dev.Accelerator.Allocate1D(b);
            using var dc = dev.Accelerator.Allocate1D(c);
            using var dbias = dev.Accelerator.Allocate1D(bias);
            dev.Gemm.RunSimd(new BlockedGemmArgs { P = p, A = da.View, B = db.View, Bias = dbias.View, C = dc.View });
            var got = dc.GetAsArray1D();
            for (int i = 0; i < got.Length; i++)
                Assert.True(BitConverter.SingleToUInt32Bits(expect[i]) == BitConverter.SingleToUInt32Bits(got[i]),
                    $"{what}: element {i} is {got[i]:R}, the chain gives {expect[i]:R}");
        }
    }

    /// <summary>dy·colᵀ over images whose planes are no multiple of 16, with a narrow and a wide last panel and k split in slices.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Filter_gradient_layout_matches_double_reference(string backend)
    {
        var dev = Backends.Simd(backend);
        foreach (int n in new[] { 25, 45 })
            BlockedGemmTests.PreparedMatchesReference(dev, FilterGradient(m: 5, n, plane: 53, images: 11).Prepare(), 0,
                $"filter gradient 5x{n}", n, a => dev.Gemm.RunSimd(a), 1e-4);
    }

    /// <summary>The filter gradient's product as the blocked family builds it: A = dy (an image per k segment), B = colᵀ.</summary>
    static BlockedGemmParams FilterGradient(int m, int n, int plane, int images)
    {
        int np = images * plane;
        return new BlockedGemmParams
        {
            M = m, N = n, K = np, G = 1, KSeg = plane,
            AStepM = plane, AStepK = 1, ASegK = m * plane + 2,
            BStepK = 1, BSegK = plane, BStepN = np + 3,
            CStepM = n + 1, Alpha = 1, Beta = 0.5f,
        };
    }
}

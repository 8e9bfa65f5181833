using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The host SIMD GEMM family (<see cref="GemmFamily.Simd"/>) against the double reference through the blocked
/// family's strided addressing, at sizes that cross its thread tiles, reduction blocks and split of k; its
/// independence of the thread count; and Conv2d and Linear with every product forced onto it (gradient checks). It
/// runs on the CPU accelerator only, so the other back ends skip with that reason.
/// </summary>
public class SimdGemmTests
{
    static void Matches(ComputeDevice dev, BlockedGemmParams p, int nSeg, string what, int seed, double tol = 1e-5) =>
        BlockedGemmTests.PreparedMatchesReference(dev, p.Prepare(nSeg), nSeg, what, seed, a => dev.Gemm.RunSimd(a), tol);

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dense_gemm_matches_double_reference(string backend)
    {
        var dev = Backends.Simd(backend);
        // Every transpose pair, padded leading dimensions, two products, the three bias modes, ReLU, alpha and beta, at
        // a small ragged size (one partial micro-tile) and at one past the thread tile in both m and n with three
        // blocks of k (so four tiles, and k split in two slices).
        int seed = 1;
        foreach (var (m, n, k) in new[] { (9, 19, 13), (SimdGemm.MC + 5, SimdGemm.NC + 3, 2 * SimdGemm.KC + 7) })
        foreach (int ta in new[] { 0, 1 })
        foreach (int tb in new[] { 0, 1 })
        {
            int lda = (ta != 0 ? m : k) + 1, ldb = (tb != 0 ? k : n) + 2, ldc = n + 3;
            var biasMode = (BiasMode)((ta + 2 * tb) % 3);
            var p = new BlockedGemmParams
            {
                M = m, N = n, K = k, G = m < 20 ? 2 : 1,
                AStepM = ta != 0 ? 1 : lda, AStepK = ta != 0 ? lda : 1, AStrideG = (ta != 0 ? k : m) * lda,
                BStepK = tb != 0 ? 1 : ldb, BStepN = tb != 0 ? ldb : 1, BStrideG = (tb != 0 ? n : k) * ldb,
                CStepM = ldc, CStrideG = m * ldc, Alpha = 0.75f, Beta = -0.5f, BiasMode = biasMode,
                Activation = ta != 0 ? FusedActivation.Relu : default,
            };
            Matches(dev, p, 0, $"simd {m}x{n}x{k} transA={ta} transB={tb} bias={biasMode} relu={ta}", seed++, k > 100 ? 1e-4 : 1e-5);
        }
        // Beta 0 ignores NaN in C.
        var dense = new BlockedGemmParams { M = 5, N = 8, K = 3, G = 1, AStepM = 3, AStepK = 1, BStepK = 8, BStepN = 1, CStepM = 8, Alpha = 1 }.Prepare();
        using var nan = dev.Accelerator.Allocate1D(Enumerable.Repeat(float.NaN, 40).ToArray());
        using var ones = dev.Accelerator.Allocate1D(Enumerable.Repeat(1f, 40).ToArray());
        dev.Gemm.RunSimd(new BlockedGemmArgs { P = dense, A = ones.View, B = ones.View, C = nan.View });
        Assert.All(nan.GetAsArray1D(), v => Assert.Equal(3f, v));
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Segmented_operands_match_double_reference(string backend)
    {
        var dev = Backends.Simd(backend);
        // The convolution layouts: columns in segments of 5 with gaps in B and C, the reduction in segments of 4 with
        // gaps in A and B; then a transposed B inside segments (the filter gradient's colᵀ).
        var p = new BlockedGemmParams
        {
            M = 6, N = 15, K = 10, G = 2, KSeg = 4,
            AStepM = 4, AStepK = 1, ASegK = 30, AStrideG = 100,
            BStepK = 5, BStepN = 1, BSegK = 23, BSegN = 90, BStrideG = 300,
            CStepM = 5, CSegN = 33, CStrideG = 110, Alpha = 1, Beta = 0.25f, BiasMode = BiasMode.PerRow, Activation = FusedActivation.Relu,
        };
        Matches(dev, p, 5, "segmented n and k", 7);
        var q = p with { BStepK = 1, BStepN = 11, BSegK = 5, BSegN = 0, BStrideG = 200, CStepM = 16, CSegN = 0, BiasMode = BiasMode.PerColumn, Activation = default, Beta = 0 };
        Matches(dev, q, 0, "segmented k, transposed B", 8);
        // Contiguous segments long enough for whole vector panels read in place, and a panel that straddles two segments.
        int seg = 2 * SimdGemm.NR + 3;
        var r = new BlockedGemmParams
        {
            M = 7, N = 3 * seg, K = 9, G = 1, AStepM = 9, AStepK = 1,
            BStepK = seg, BStepN = 1, BSegN = 9 * seg + 2, CStepM = seg, CSegN = 7 * seg + 1, Alpha = 1, BiasMode = BiasMode.PerRow,
        };
        Matches(dev, r, seg, "in-place panels across segments", 9);
    }

    /// <summary>
    /// The same bits with 1, 2, 3 and 5 threads, for a product split along k, one cut into many tiles, and one whose
    /// tiles are 192 rows high for one thread and 96 for more (split along k too).
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Results_do_not_depend_on_the_thread_count(string backend)
    {
        using var dev = Backends.Private(backend);
        Backends.Simd(backend);
        foreach (var (m, n, k) in new[] { (16, 150, 5 * SimdGemm.KC + 1), (2 * SimdGemm.MC + 1, 3 * SimdGemm.NC + 1, 70), (SimdGemm.MC + 108, SimdGemm.NC - 56, SimdGemm.KC + 44) })
        {
            var rng = new Random(m + n + k);
            var a = GradCheck.RandomFloats(rng, m * k, 1);
            var b = GradCheck.RandomFloats(rng, k * n, 1);
            using var da = dev.Accelerator.Allocate1D(a);
            using var db = dev.Accelerator.Allocate1D(b);
            using var dc = dev.Accelerator.Allocate1D<float>(m * n);
            var p = new BlockedGemmParams { M = m, N = n, K = k, G = 1, AStepM = k, AStepK = 1, BStepK = n, BStepN = 1, CStepM = n, Alpha = 1 }.Prepare();
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3, 5 })
            {
                dev.Gemm.SimdThreads = threads;
                dev.Gemm.RunSimd(new BlockedGemmArgs { P = p, A = da.View, B = db.View, C = dc.View });
                var got = dc.GetAsArray1D();
                if (first is null) first = got;
                else Assert.True(first.SequenceEqual(got), $"{m}x{n}x{k}: {threads} threads changed the bits");
            }
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_in_chunks_of_images(string backend)
    {
        var conv = new Conv2d(2, 3, 3, padding: 1);
        conv.BlockedColumnBudget = 2L * 2 * 9 * 5 * 4; // two images' columns: a batch of 3 runs as chunks of 2 and 1
        GradCheck.Layer(Backends.Simd(backend), conv, 3, new Shape(2, 5, 4));
    }

    /// <summary>Eight seeded random geometries (groups, rectangular kernels, strides, padding, dilation, pointwise), each through the gradient check.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_random_geometries(string backend)
    {
        var dev = Backends.Simd(backend);
        var rng = new Random(2027);
        for (int trial = 0; trial < 8; trial++)
        {
            int g = rng.Next(1, 3), c = g * rng.Next(1, 3), k = g * rng.Next(1, 4);
            (int, int) kernel = (rng.Next(1, 4), rng.Next(1, 4)), stride = (rng.Next(1, 3), rng.Next(1, 3)), dil = (rng.Next(1, 3), rng.Next(1, 3));
            var pad = Padding.Explicit(rng.Next(0, 3), rng.Next(0, 3));
            int h = rng.Next(4, 9), w = rng.Next(4, 9), batch = rng.Next(1, 4);
            if (trial % 4 == 3) (kernel, stride, dil, pad) = ((1, 1), (1, 1), (1, 1), Padding.Valid);
            h = Math.Max(h, (kernel.Item1 - 1) * dil.Item1 + 1);
            w = Math.Max(w, (kernel.Item2 - 1) * dil.Item2 + 1);
            var conv = new Conv2d(c, k, kernel, stride, pad, dil, g, bias: rng.Next(2) == 0);
            GradCheck.Layer(dev, conv, batch, new[] { new Shape(c, h, w) }, seed: 200 + trial);
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Linear_all_three_products(string backend) =>
        GradCheck.Layer(Backends.Simd(backend), new Linear(19, 7), 3, new Shape(19));

    [SkippableFact]
    public void Cpu_auto_takes_the_simd_family_from_its_threshold_without_timing()
    {
        using var dev = DeviceManager.Open("cpu");
        Skip.If(dev.Gemm.Preference != GemmFamily.Auto, "GPUCNN_GEMM forces a kernel family for this run");
        dev.Gemm.CpuSimd = true;
        // 15·17·16 = 2¹² − 16 and 16³ = 2¹² multiply-adds. Default operands: a timing run would fail on them.
        var small = GemmProduct.Dense(GemmOperation.LinearForward, 15, 17, 16, false, true, 16, 16, 17);
        var large = GemmProduct.Dense(GemmOperation.LinearForward, 16, 16, 16, false, true, 16, 16, 16);
        Assert.True(small.MultiplyAdds < GemmEngine.CpuSimdMacs);
        Assert.Equal(GemmEngine.CpuSimdMacs, large.MultiplyAdds);
        Assert.Equal(GemmFamily.Direct, dev.Gemm.Choose(small, default));
        Assert.Equal(GemmFamily.Simd, dev.Gemm.Choose(large, default));
        Assert.Empty(dev.Gemm.Timings);
        // LeNet-5's second convolution on 2 images: all three products on the host, through the gradient check.
        GradCheck.Layer(dev, new Conv2d(6, 16, 5), 2, new Shape(6, 14, 14));
        var conv = dev.Gemm.Choices.Where(kv => kv.Key.StartsWith("conv.", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, conv.Count);
        Assert.All(conv, kv => Assert.Equal(GemmFamily.Simd, kv.Value));
    }

    [SkippableFact]
    public void Simd_parses_and_is_chosen_when_forced_on_the_cpu()
    {
        var product = GemmProduct.Dense(GemmOperation.LinearForward, 4, 4, 4, false, true, 4, 4, 4);
        var dev = Backends.Tiled("cpu", GemmFamily.Simd);
        Assert.Equal(GemmFamily.Simd, dev.Gemm.Choose(product, default));
        Assert.Equal(GemmFamily.Simd, GemmEngine.Parse("SIMD"));
    }
}

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
/// The register-blocked GEMM (<see cref="BlockedGemmKernels"/>) against a double reference through its strided
/// addressing, and Conv2d and Linear with every product forced onto it (gradient checks), on every back end.
/// </summary>
public class BlockedGemmTests
{
    static ComputeDevice Device(string backend) => Backends.Tiled(backend, GemmFamily.Blocked);

    /// <summary>
    /// Runs <paramref name="p"/>, with each tile height, on buffers laid out by its strides and compares every value of C's buffer with a double
    /// reference: the product where C is addressed, the old value (untouched) in the gaps between rows and segments.
    /// </summary>
    static void MatchesReference(ComputeDevice dev, BlockedGemmParams p, int nSeg, string what, int seed)
    {
        foreach (int rows in new[] { BlockedGemmKernels.TileM, BlockedGemmKernels.TallTileM })
            PreparedMatchesReference(dev, p.Prepare(nSeg, rows), nSeg, $"{what}, {rows}-row tiles", seed);
    }

    /// <summary>
    /// Runs prepared <paramref name="p"/> with <paramref name="run"/> (default: the blocked kernel) on buffers laid out by
    /// its strides and compares every value of C's buffer with the double reference (shared with the SIMD family's tests).
    /// </summary>
    internal static void PreparedMatchesReference(ComputeDevice dev, BlockedGemmParams p, int nSeg, string what, int seed,
        Action<BlockedGemmArgs>? run = null, double tol = 1e-5)
    {
        int kSeg = p.KSeg, ns = nSeg > 0 ? nSeg : p.N;
        long A(int g, int m, int k) => (long)g * p.AStrideG + (long)m * p.AStepM + (long)(k / kSeg) * p.ASegK + (long)(k % kSeg) * p.AStepK;
        long B(int g, int k, int n) => (long)g * p.BStrideG + (long)(k / kSeg) * p.BSegK + (long)(k % kSeg) * p.BStepK + (long)(n / ns) * p.BSegN + (long)(n % ns) * p.BStepN;
        long C(int g, int m, int n) => (long)g * p.CStrideG + (long)m * p.CStepM + (long)(n / ns) * p.CSegN + n % ns;
        long Extent(Func<int, int, int, long> at, int d1, int d2) =>
            Enumerable.Range(0, p.G).Max(g => Enumerable.Range(0, d1).Max(i => Enumerable.Range(0, d2).Max(j => at(g, i, j)))) + 1;
        var outputs = Enumerable.Range(0, p.G).SelectMany(g => Enumerable.Range(0, p.M).SelectMany(m => Enumerable.Range(0, p.N).Select(n => C(g, m, n))));
        Assert.Equal(p.G * p.M * p.N, outputs.Distinct().Count()); // the layout itself must not overlap
        var rng = new Random(seed);
        var a = GradCheck.RandomFloats(rng, (int)Extent(A, p.M, p.K), 1);
        var b = GradCheck.RandomFloats(rng, (int)Extent(B, p.K, p.N), 1);
        var c = GradCheck.RandomFloats(rng, (int)Extent(C, p.M, p.N) + 3, 1);
        var bias = GradCheck.RandomFloats(rng, Math.Max(p.G * p.M, p.N), 1);
        var expect = c.Select(v => (double)v).ToArray();
        for (int g = 0; g < p.G; g++)
            for (int m = 0; m < p.M; m++)
                for (int n = 0; n < p.N; n++)
                {
                    double acc = 0;
                    for (int k = 0; k < p.K; k++) acc += (double)a[A(g, m, k)] * b[B(g, k, n)];
                    double v = p.Alpha * acc + (p.BiasMode == BiasMode.PerColumn ? bias[n] : p.BiasMode == BiasMode.PerRow ? bias[g * p.M + m] : 0)
                        + (p.Beta != 0 ? p.Beta * c[C(g, m, n)] : 0);
                    expect[C(g, m, n)] = p.Activation.IsEnabled ? Math.Max(0, v) : v;
                }
        using var da = dev.Accelerator.Allocate1D(a);
        using var db = dev.Accelerator.Allocate1D(b);
        using var dc = dev.Accelerator.Allocate1D(c);
        using var dbias = dev.Accelerator.Allocate1D(bias);
        var args = new BlockedGemmArgs { P = p, A = da.View, B = db.View, Bias = dbias.View, C = dc.View };
        if (run is null) dev.Gemm.LaunchBlocked(args);
        else run(args);
        Close.Assert(expect, dc.GetAsArray1D(), tol, tol, what);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dense_gemm_matches_double_reference(string backend)
    {
        var dev = Device(backend);
        // Sizes that are no multiple of either tile (4×8, 16×8), two products, padded leading dimensions, every transpose pair,
        // the three bias modes, ReLU, alpha and beta (including beta 0 over NaN, which must be ignored).
        const int m = 9, n = 19, k = 13, g = 2;
        int seed = 1;
        foreach (int ta in new[] { 0, 1 })
        foreach (int tb in new[] { 0, 1 })
        {
            int lda = (ta != 0 ? m : k) + 1, ldb = (tb != 0 ? k : n) + 2, ldc = n + 3;
            var biasMode = (BiasMode)((ta + 2 * tb) % 3);
            var p = new BlockedGemmParams
            {
                M = m, N = n, K = k, G = g,
                AStepM = ta != 0 ? 1 : lda, AStepK = ta != 0 ? lda : 1, AStrideG = (ta != 0 ? k : m) * lda,
                BStepK = tb != 0 ? 1 : ldb, BStepN = tb != 0 ? ldb : 1, BStrideG = (tb != 0 ? n : k) * ldb,
                CStepM = ldc, CStrideG = m * ldc, Alpha = 0.75f, Beta = -0.5f, BiasMode = biasMode,
                Activation = ta != 0 ? FusedActivation.Relu : default,
            };
            MatchesReference(dev, p, 0, $"blocked transA={ta} transB={tb} bias={biasMode} relu={ta}", seed++);
        }
        // Tall enough for two 16-row tiles and a ragged third (what Prepare picks by itself).
        var tall = new BlockedGemmParams { M = 37, N = 11, K = 21, G = 1, AStepM = 21, AStepK = 1, BStepK = 11, BStepN = 1, CStepM = 11, Alpha = 1, BiasMode = BiasMode.PerRow };
        Assert.Equal(BlockedGemmKernels.TallTileM, tall.Prepare().TileRows);
        Assert.Equal(BlockedGemmKernels.TileM, (tall with { M = 15 }).Prepare().TileRows);
        MatchesReference(dev, tall, 0, "37 rows", seed);
        var dense = new BlockedGemmParams { M = 5, N = 8, K = 3, G = 1, AStepM = 3, AStepK = 1, BStepK = 8, BStepN = 1, CStepM = 8, Alpha = 1 }.Prepare();
        using var nan = dev.Accelerator.Allocate1D(Enumerable.Repeat(float.NaN, 40).ToArray());
        using var ones = dev.Accelerator.Allocate1D(Enumerable.Repeat(1f, 40).ToArray());
        dev.Gemm.LaunchBlocked(new BlockedGemmArgs { P = dense, A = ones.View, B = ones.View, C = nan.View });
        Assert.All(nan.GetAsArray1D(), v => Assert.Equal(3f, v));
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Segmented_operands_match_double_reference(string backend)
    {
        var dev = Device(backend);
        // Columns in segments of 5 (images of 5 pixels) with gaps between segments in B and C, and the reduction in
        // segments of 4 (4, 4, 2) with gaps in A and B: the layouts of the convolution products, with padding that
        // must stay untouched.
        var p = new BlockedGemmParams
        {
            M = 6, N = 15, K = 10, G = 2, KSeg = 4,
            AStepM = 4, AStepK = 1, ASegK = 30, AStrideG = 100,
            BStepK = 5, BStepN = 1, BSegK = 23, BSegN = 90, BStrideG = 300,
            CStepM = 5, CSegN = 33, CStrideG = 110, Alpha = 1, Beta = 0.25f, BiasMode = BiasMode.PerRow, Activation = FusedActivation.Relu,
        };
        MatchesReference(dev, p, 5, "segmented n and k", 7);
        // Transposed B inside segments (the filter gradient's colᵀ): unit step along k, a row per column.
        var q = p with { BStepK = 1, BStepN = 11, BSegK = 5, BSegN = 0, BStrideG = 200, CStepM = 16, CSegN = 0, BiasMode = BiasMode.PerColumn, Activation = default, Beta = 0 };
        MatchesReference(dev, q, 0, "segmented k, transposed B", 8);
    }

    /// <summary>A lowering budget of two images' columns makes a batch of 3 run as chunks of 2 and 1.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_in_chunks_of_images(string backend)
    {
        var conv = new Conv2d(2, 3, 3, padding: 1);
        conv.BlockedColumnBudget = 2L * 2 * 9 * 5 * 4; // rows 18, 5×4 output pixels, two images
        GradCheck.Layer(Device(backend), conv, 3, new Shape(2, 5, 4));
    }

    /// <summary>
    /// Twelve seeded random geometries (channels, groups, rectangular kernels, strides, padding, dilation, batch, bias and
    /// a lowering budget of one image, two images or the default), each through the gradient check.
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_random_geometries(string backend)
    {
        var dev = Device(backend);
        var rng = new Random(2026);
        for (int trial = 0; trial < 12; trial++)
        {
            int g = rng.Next(1, 3), c = g * rng.Next(1, 3), k = g * rng.Next(1, 4);
            (int, int) kernel = (rng.Next(1, 4), rng.Next(1, 4)), stride = (rng.Next(1, 3), rng.Next(1, 3)), dil = (rng.Next(1, 3), rng.Next(1, 3));
            var pad = Padding.Explicit(rng.Next(0, 3), rng.Next(0, 3));
            int h = rng.Next(4, 9), w = rng.Next(4, 9), batch = rng.Next(1, 4);
            if (trial % 4 == 3) (kernel, stride, dil, pad) = ((1, 1), (1, 1), (1, 1), Padding.Valid); // pointwise: read in place
            h = Math.Max(h, (kernel.Item1 - 1) * dil.Item1 + 1); // at least one output row and column
            w = Math.Max(w, (kernel.Item2 - 1) * dil.Item2 + 1);
            var conv = new Conv2d(c, k, kernel, stride, pad, dil, g, bias: rng.Next(2) == 0);
            var shape = new Shape(c, h, w);
            var outShape = conv.InferOutputShape(new[] { shape });
            long perImage = (long)c * kernel.Item1 * kernel.Item2 * outShape[1] * outShape[2];
            conv.BlockedColumnBudget = (trial % 3) switch { 0 => perImage, 1 => 2 * perImage, _ => conv.BlockedColumnBudget };
            GradCheck.Layer(dev, conv, batch, new[] { shape }, seed: 100 + trial);
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Linear_all_three_products(string backend) =>
        GradCheck.Layer(Device(backend), new Linear(19, 7), 3, new Shape(19));

    [SkippableFact]
    public void Cpu_auto_takes_the_blocked_kernel_for_large_products_without_timing()
    {
        using var dev = DeviceManager.Open("cpu");
        Skip.If(dev.Gemm.Preference != GemmFamily.Auto, "GPUCNN_GEMM forces a kernel family for this run");
        dev.Gemm.CpuSimd = false; // the ILGPU kernels' rule, as before the host SIMD family (SimdGemmTests checks that one)
        // 27·133·73 = 2¹⁸ − 1 and 64³ = 2¹⁸ multiply-adds. Default operands: a timing run would fail on them.
        var small = GemmProduct.Dense(GemmOperation.LinearForward, 27, 133, 73, false, true, 73, 73, 133);
        var large = GemmProduct.Dense(GemmOperation.LinearForward, 64, 64, 64, false, true, 64, 64, 64);
        Assert.Equal(GemmEngine.CpuBlockedMacs - 1, small.MultiplyAdds);
        Assert.Equal(GemmEngine.CpuBlockedMacs, large.MultiplyAdds);
        Assert.Equal(GemmFamily.Direct, dev.Gemm.Choose(small, default));
        Assert.Equal(GemmFamily.Blocked, dev.Gemm.Choose(large, default));
        Assert.Empty(dev.Gemm.Timings);
        // LeNet-5's second convolution on 2 images (480,000 multiply-adds): all three products take the blocked
        // kernel, and pass the gradient check there.
        GradCheck.Layer(dev, new Conv2d(6, 16, 5), 2, new Shape(6, 14, 14));
        var conv = dev.Gemm.Choices.Where(kv => kv.Key.StartsWith("conv.", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, conv.Count);
        Assert.All(conv, kv => Assert.Equal(GemmFamily.Blocked, kv.Value));
    }
}

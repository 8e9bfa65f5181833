using GpuCnn.Devices;
using GpuCnn.Graphs;
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
/// The tiled GEMM kernels (the GPU path of Linear and Conv2d) against double references and gradient checks. Where no
/// GPU is present they run on a CPU accelerator with 256-thread groups, the group shape they are written for.
/// </summary>
public class TiledGemmTests
{
    public static TheoryData<string, string> Variants => Backends.Crossed("Tile64", "Tile128");

    /// <summary>A device of the back end with the GEMM family forced; cached per (backend, family) so kernels compile once.</summary>
    static ComputeDevice Device(string backend, string kernel) =>
        Backends.Tiled(backend, GemmEngine.Parse(kernel));

    [SkippableTheory, MemberData(nameof(Variants))]
    public void Dense_batched_gemm_matches_double_reference(string backend, string kernel)
    {
        var dev = Device(backend, kernel);
        var kind = GemmEngine.Parse(kernel);
        DenseMatchesDoubleReference(dev, kernel, (a, b, c, shape) => dev.Gemm.LaunchTiled(kind, a, b, c, shape));
    }

    /// <summary>
    /// Batched C = relu?(α·op(A)·op(B) + bias + β·C) through <paramref name="launch"/> against a double reference, for
    /// all four transpose combinations, the three bias modes, padded leading dimensions and sizes that are no tile's
    /// multiple. Shared with the experimental kernels in perf/.
    /// </summary>
    internal static void DenseMatchesDoubleReference(ComputeDevice dev, string kernel, Action<DenseA, DenseB, DenseC, GemmShape> launch)
    {
        var rng = new Random(5);
        const int m = 70, n = 37, k = 29, batches = 2;
        foreach (int ta in new[] { 0, 1 })
        foreach (int tb in new[] { 0, 1 })
        {
            int lda = (ta != 0 ? m : k) + 1, ldb = (tb != 0 ? k : n) + 2, ldc = n + 3;
            int sa = (ta != 0 ? k : m) * lda, sb = (tb != 0 ? n : k) * ldb, sc = m * ldc;
            var a = GradCheck.RandomFloats(rng, batches * sa, 1);
            var b = GradCheck.RandomFloats(rng, batches * sb, 1);
            var c = GradCheck.RandomFloats(rng, batches * sc, 1);
            var bias = GradCheck.RandomFloats(rng, Math.Max(m, n), 1);
            int biasMode = (ta + 2 * tb) % 3, relu = ta;
            const float alpha = 0.75f, beta = -0.5f;
            var expect = c.Select(v => (double)v).ToArray();
            for (int q = 0; q < batches; q++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double acc = 0;
                        for (int r = 0; r < k; r++)
                            acc += (double)a[q * sa + (ta != 0 ? r * lda + i : i * lda + r)] * b[q * sb + (tb != 0 ? j * ldb + r : r * ldb + j)];
                        double v = alpha * acc + (biasMode == 1 ? bias[j] : biasMode == 2 ? bias[i] : 0) + beta * c[q * sc + i * ldc + j];
                        expect[q * sc + i * ldc + j] = relu != 0 ? Math.Max(0, v) : v;
                    }
            using var da = dev.Accelerator.Allocate1D(a);
            using var db = dev.Accelerator.Allocate1D(b);
            using var dc = dev.Accelerator.Allocate1D(c);
            using var dbias = dev.Accelerator.Allocate1D(bias);
            launch(
                new DenseA { V = da.View, Ld = lda, BatchStride = sa, Trans = ta },
                new DenseB { V = db.View, Ld = ldb, BatchStride = sb, Trans = tb },
                new DenseC
                {
                    V = dc.View, Bias = dbias.View, Ld = ldc, BatchStride = sc, BiasMode = (BiasMode)biasMode,
                    Activation = relu != 0 ? FusedActivation.Relu : default, Alpha = alpha, Beta = beta,
                },
                GemmEngine.Shape(m, n, k, batches));
            // Padding columns of C must be untouched.
            Close.Assert(expect, dc.GetAsArray1D(), 1e-5, 1e-5, $"{kernel} transA={ta} transB={tb} bias={biasMode} relu={relu}");
        }
    }

    [SkippableTheory, MemberData(nameof(Variants))]
    public void Split_k_partials_reduce_to_the_product(string backend, string kernel)
    {
        var dev = Device(backend, kernel);
        var kind = GemmEngine.Parse(kernel);
        var rng = new Random(9);
        const int m = 9, n = 20, k = 300, batches = 2, splits = 4;
        var a = GradCheck.RandomFloats(rng, batches * m * k, 1);
        var b = GradCheck.RandomFloats(rng, batches * k * n, 1);
        var c = GradCheck.RandomFloats(rng, batches * m * n, 1);
        const float beta = 0.5f;
        var expect = new double[c.Length];
        for (int q = 0; q < batches; q++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int r = 0; r < k; r++) acc += (double)a[q * m * k + i * k + r] * b[q * k * n + r * n + j];
                    expect[q * m * n + i * n + j] = acc + beta * c[q * m * n + i * n + j];
                }
        var shape = GemmEngine.Shape(m, n, k, batches, splits);
        Assert.Equal(splits, (k + shape.KPerSplit - 1) / shape.KPerSplit); // every slice has work
        using var da = dev.Accelerator.Allocate1D(a);
        using var db = dev.Accelerator.Allocate1D(b);
        using var dc = dev.Accelerator.Allocate1D(c);
        using var partial = dev.Accelerator.Allocate1D<float>(splits * batches * m * n);
        dev.Gemm.LaunchTiled(kind, new DenseA { V = da.View, Ld = k, BatchStride = m * k }, new DenseB { V = db.View, Ld = n, BatchStride = k * n },
            new PartialC { V = partial.View, M = m, N = n, Batches = batches }, shape);
        var reduce = dev.LoadKernel<ReduceSplitsArgs>(TiledGemmKernels.ReduceSplits);
        reduce.Launch(batches * m * n, new() { Shape = shape, Partial = partial.View, Dst = dc.View, Ld = n, DstBatchStride = m * n, Beta = beta });
        Close.Assert(expect, dc.GetAsArray1D(), 1e-4, 1e-5, $"{kernel} split-K");
    }

    [SkippableTheory, MemberData(nameof(Variants))]
    public void Conv2d_filter_gradient_with_split_k(string backend, string kernel)
    {
        var dev = Device(backend, kernel);
        var conv = new Conv2d(2, 3, 3, stride: 1, padding: 1);
        // 2 images of 16x16: the reduction of the filter gradient is 512 long, so a small device splits it in two.
        Skip.If(dev.Gemm.SplitsFor(dev.Gemm.Preference, 3, 18, 512, 1) < 2, "this device has enough multiprocessors that the shape does not split");
        GradCheck.Layer(dev, conv, 2, new Shape(2, 16, 16));
    }

    [SkippableTheory, MemberData(nameof(Variants))]
    public void Linear_all_three_products(string backend, string kernel) =>
        GradCheck.Layer(Device(backend, kernel), new Linear(19, 7), 3, new Shape(19));

    [SkippableFact]
    public void Tuning_times_every_candidate_and_leaves_accumulated_gradients_intact()
    {
        // Two convolutions read one input, so its gradient accumulates (beta 1) across them: tuning runs into a
        // scratch output and must not add anything to the real one.
        using var dev = DeviceManager.OpenGroupedCpu();
        dev.Gemm.TuneOnCpu = true;
        var g = new Graph { Name = "fanout" };
        var x = g.Input(new Shape(2, 5, 5), "x");
        var a = g.Add(new Conv2d(2, 2, 3, padding: 1, name: "a"), x);
        var b = g.Add(new Conv2d(2, 2, 3, padding: 1, name: "b"), x);
        g.Output = g.Add(new Add(2, "sum"), a, b);
        GradCheck.Graph(dev, g, 2);
        Assert.Contains(dev.Gemm.Choices.Keys, k => k.StartsWith("conv.Forward", StringComparison.Ordinal));
        Assert.Contains(dev.Gemm.Choices.Keys, k => k.StartsWith("conv.DataGrad", StringComparison.Ordinal));
        Assert.Contains(dev.Gemm.Choices.Keys, k => k.StartsWith("conv.FilterGrad", StringComparison.Ordinal));
        Assert.All(dev.Gemm.Timings.Values, t => Assert.Equal(GemmEngine.Candidates.Length, t.Length));
        Assert.All(dev.Gemm.Timings.Values, t => Assert.All(t, ms => Assert.True(ms > 0)));
    }

    [Fact]
    public void Tuning_skips_kernels_the_device_cannot_run()
    {
        using var dev = DeviceManager.Open("cpu"); // 2 threads per group: the tiled kernels cannot launch
        dev.Gemm.TuneOnCpu = true;
        GradCheck.Layer(dev, new Linear(5, 3), 2, new Shape(5));
        Assert.NotEmpty(dev.Gemm.Choices);
        Assert.All(dev.Gemm.Choices.Values, v => Assert.Equal(GemmFamily.Direct, v));
        int tile64 = Array.IndexOf(GemmEngine.Candidates, GemmFamily.Tile64), direct = Array.IndexOf(GemmEngine.Candidates, GemmFamily.Direct);
        Assert.All(dev.Gemm.Timings.Values, t =>
        {
            Assert.True(double.IsPositiveInfinity(t[tile64]));
            Assert.True(double.IsFinite(t[direct]) && t[direct] > 0);
        });
    }

    [Fact]
    public void A_warm_tiled_launch_allocates_no_more_than_the_bare_ilgpu_launch()
    {
        // A device of its own: another test launching on a shared accelerator meanwhile makes this thread's launches
        // wait and allocate (seen once in CI: 12,912 B against 4,960 B).
        using var dev = DeviceManager.OpenGroupedCpu();
        dev.Gemm.Preference = GemmFamily.Tile64;
        using var buf = dev.Accelerator.Allocate1D<float>(64);
        var A = new DenseA { V = buf.View, Ld = 8 };
        var B = new DenseB { V = buf.View, Ld = 8 };
        var C = new DenseC { V = buf.View, Ld = 8, Alpha = 1 };
        var shape = GemmEngine.Shape(8, 8, 8);
        var args = new TiledGemmArgs<DenseA, DenseB, DenseC> { A = A, B = B, C = C, Shape = shape };
        var raw = dev.Accelerator.LoadKernel<TiledGemmArgs<DenseA, DenseB, DenseC>>(TiledGemmKernels.Tile64);
        var config = new KernelConfig(new Index3D(1, 1, 1), new Index3D(TiledGemmKernels.GroupSize, 1, 1));
        for (int i = 0; i < 3; i++) { dev.Gemm.LaunchTiled(GemmFamily.Tile64, A, B, C, shape); raw(dev.Stream, config, args); }
        dev.Synchronize();
        // The fewest bytes over a few rounds: an allocation per launch shows in every round (a closure is 96 B, so
        // 1,920 B per round); a one-off of the runtime's in at most some of them.
        long extra = long.MaxValue, bareBytes = 0, engineBytes = 0;
        for (int round = 0; round < 4 && extra > 256; round++)
        {
            long t0 = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) raw(dev.Stream, config, args);
            dev.Synchronize();
            long t1 = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) dev.Gemm.LaunchTiled(GemmFamily.Tile64, A, B, C, shape);
            dev.Synchronize();
            long t2 = GC.GetAllocatedBytesForCurrentThread();
            if ((t2 - t1) - (t1 - t0) < extra) (extra, bareBytes, engineBytes) = ((t2 - t1) - (t1 - t0), t1 - t0, t2 - t1);
        }
        Assert.True(extra <= 256, $"engine launches allocated {engineBytes} B, bare launches {bareBytes} B, in the best of 4 rounds of 20");
    }

    [SkippableFact]
    public void Cpu_accelerator_uses_the_direct_kernels_for_small_products_without_tuning()
    {
        var dev = Backends.Get("cpu");
        Skip.If(dev.Gemm.Preference != GemmFamily.Auto, "GPUCNN_GEMM forces a kernel family for this run");
        // Default operands: a timing run would fail on them, so the choice must come without timing.
        var small = GemmProduct.Dense(GemmOperation.LinearForward, 1, 1, 1, false, true, 1, 1, 1);
        Assert.Equal(GemmFamily.Direct, dev.Gemm.Choose(small, default));
        Assert.DoesNotContain(small.ToString(), dev.Gemm.Timings.Keys);
    }

    [Fact]
    public void Tiled_kernels_on_the_default_cpu_accelerator_are_refused_with_the_reason()
    {
        var dev = Backends.Get("cpu");
        Assert.False(dev.Gemm.CanRunTiled);
        var e = Assert.Throws<ArgumentException>(() => dev.Gemm.Preference = GemmFamily.Tile128);
        Assert.Contains("256 threads per group", e.Message);
        Assert.Contains("allows 2", e.Message);
    }

    [Fact]
    public void Unknown_kernel_name_lists_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => GemmEngine.Parse("fast"));
        Assert.Contains("tile128", e.Message);
    }
}

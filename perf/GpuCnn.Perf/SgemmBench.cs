using System.Diagnostics;
using System.Text.Json;
using GpuCnn.Devices;
using GpuCnn.Kernels.Gemm;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Perf;

/// <summary>
/// Square SGEMM C = A·B (row-major, fp32) with each GEMM family of a device, validated against a double-precision
/// reference on sampled entries before it is timed:
///   GpuCnn.Perf sgemm [--size 4096] [--device cuda] [--reps 20] [--metrics FILE.json]
/// Prints GFLOP/s per family (cuBLAS fp32 and TF32 where CUDA and the library are present).
/// </summary>
public static class SgemmBench
{
    public static int Run(string[] args)
    {
        string Arg(string name, string def) => Options.Get(args, name, def);
        int n = int.Parse(Arg("size", "4096")), reps = int.Parse(Arg("reps", "20"));
        string deviceSpec = Arg("device", "auto");
        string? metrics = Arg("metrics", "") is { Length: > 0 } m ? m : null;
        using var dev = DeviceManager.Open(deviceSpec);
        Console.WriteLine($"device: {dev}; SGEMM {n}x{n}x{n}, fp32, {reps} timed runs after one warm-up");
        var rng = new Random(1);
        var a = new float[(long)n * n];
        var b = new float[(long)n * n];
        for (long i = 0; i < a.LongLength; i++) { a[i] = (float)(rng.NextDouble() * 2 - 1); b[i] = (float)(rng.NextDouble() * 2 - 1); }
        using var da = dev.Accelerator.Allocate1D(a);
        using var db = dev.Accelerator.Allocate1D(b);
        using var dc = dev.Accelerator.Allocate1D<float>((long)n * n);
        double flops = 2.0 * n * n * n;
        var results = new List<Dictionary<string, object?>>();
        // Setup (e.g. cuBLAS's math mode) runs once before a family is validated and timed, never inside the timing.
        var families = new List<(string Name, Action? Setup, Action Run)>();
        var p = new GemmParams { M = n, N = n, K = n, Lda = n, Ldb = n, Ldc = n, Alpha = 1, Beta = 0 };
        var direct = dev.LoadKernel<GemmArgs>(GemmKernels.Gemm);
        if (n <= 2048 || dev.Kind == DeviceKind.Cpu)
            families.Add(("direct", null, () => direct.Launch(n * n, new() { P = p, A = da.View, B = db.View, C = dc.View })));
        // The register-blocked kernel: the CPU accelerator's choice; whether it has a place on a GPU is measured here.
        var bp = new BlockedGemmParams { M = n, N = n, K = n, G = 1, AStepM = n, AStepK = 1, BStepK = n, BStepN = 1, CStepM = n, Alpha = 1 }.Prepare();
        families.Add(("blocked", null, () => dev.Gemm.LaunchBlocked(new BlockedGemmArgs { P = bp, A = da.View, B = db.View, C = dc.View })));
        // The host SIMD family (CPU accelerator only): the stream synchronisation before the host GEMM is inside the timing.
        if (dev.Kind == DeviceKind.Cpu)
            families.Add(("simd", null, () => dev.Gemm.RunSimd(new BlockedGemmArgs { P = bp, A = da.View, B = db.View, C = dc.View })));
        if (dev.Accelerator.MaxNumThreadsPerGroup >= TiledGemmKernels.GroupSize)
            foreach (var kind in new[] { GemmFamily.Tile64, GemmFamily.Tile128 })
                families.Add((kind.ToString().ToLowerInvariant(), null, () => dev.Gemm.LaunchTiled(kind,
                    new DenseA { V = da.View, Ld = n }, new DenseB { V = db.View, Ld = n },
                    new DenseC { V = dc.View, Ld = n, Alpha = 1 }, GemmEngine.Shape(n, n, n))));
        if (dev.Accelerator.MaxNumThreadsPerGroup >= TiledGemmKernels.GroupSize)
        {
            // Experiment 01 (perf/GpuCnn.Experimental/Gemm01Vec4.cs): the tiled kernels with Float4 shared-memory reads.
            foreach (var (name, tile, kernel) in new (string, int, Action<TiledGemmArgs<DenseA, DenseB, DenseC>>)[]
                { ("exp01-v4-64", 64, Experimental.Gemm01Vec4Kernels.Tile64V4), ("exp01-v4-128", 128, Experimental.Gemm01Vec4Kernels.Tile128V4) })
            {
                var k = dev.LoadGroupedKernel(kernel);
                var config = new KernelConfig(new Index3D((n + tile - 1) / tile, (n + tile - 1) / tile, 1), new Index3D(TiledGemmKernels.GroupSize, 1, 1));
                var v4 = new TiledGemmArgs<DenseA, DenseB, DenseC>
                {
                    A = new DenseA { V = da.View, Ld = n }, B = new DenseB { V = db.View, Ld = n },
                    C = new DenseC { V = dc.View, Ld = n, Alpha = 1 }, Shape = GemmEngine.Shape(n, n, n),
                };
                families.Add((name, null, () => k.Launch(config, v4)));
            }
        }
        else
            Console.WriteLine($"tile64/tile128/exp01-v4: skipped, {dev.Id} allows {dev.Accelerator.MaxNumThreadsPerGroup} threads per group (the CPU accelerator is shaped for the direct kernels)");
        if (dev.Gemm.CuBlasReady())
        {
            void Blas() => dev.Gemm.Sgemm(false, false, n, n, n, 1, da.View, n, db.View, n, 0, dc.View, n);
            families.Add(("cublas-fp32", () => dev.Gemm.Tf32 = false, Blas));
            families.Add(("cublas-tf32", () => dev.Gemm.Tf32 = true, Blas));
        }
        else Console.WriteLine($"cublas: skipped, {dev.Gemm.CuBlasProblem}");

        // Sampled entries of the double reference: validation before timing.
        var sample = Enumerable.Range(0, 64).Select(_ => (I: rng.Next(n), J: rng.Next(n))).ToArray();
        var expect = sample.Select(s => { double acc = 0; for (int k = 0; k < n; k++) acc += (double)a[(long)s.I * n + k] * b[(long)k * n + s.J]; return acc; }).ToArray();
        foreach (var (name, setup, run) in families)
        {
            setup?.Invoke();
            dc.MemSetToZero(dev.Stream);
            run();
            dev.Synchronize();
            var c = dc.GetAsArray1D();
            double worst = 0;
            bool tf32 = name.EndsWith("tf32", StringComparison.Ordinal);
            for (int s = 0; s < sample.Length; s++)
            {
                double got = c[(long)sample[s].I * n + sample[s].J];
                // fp32 accumulation over n products of magnitude <= 1; TF32 keeps 10 mantissa bits per product.
                double tol = (tf32 ? 2e-3 : 1e-5) * Math.Sqrt(n) * 4 + 1e-4 * Math.Abs(expect[s]);
                worst = Math.Max(worst, Math.Abs(got - expect[s]) / tol);
            }
            bool ok = worst <= 1;
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) run();
            dev.Synchronize();
            double secs = sw.Elapsed.TotalSeconds / reps;
            double gflops = flops / secs / 1e9;
            Console.WriteLine($"{name,-12} {secs * 1000,10:F3} ms  {gflops,10:F1} GFLOP/s  {(ok ? "valid" : $"INVALID (error {worst:F1}x tolerance)")}");
            results.Add(new() { ["kernel"] = name, ["ms"] = secs * 1000, ["gflops"] = gflops, ["valid"] = ok });
        }
        if (dev.Kind == DeviceKind.Cpu)
        {
            // What the SIMD family pays before each host GEMM: synchronising the (already drained) stream.
            const int syncs = 10000;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < syncs; i++) dev.Synchronize();
            Console.WriteLine($"stream synchronisation (drained stream): {sw.Elapsed.TotalMilliseconds * 1000 / syncs:F2} µs each");
        }
        if (metrics is not null)
            File.WriteAllText(metrics, JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["device"] = dev.Id, ["device_name"] = dev.Name, ["size"] = n, ["reps"] = reps, ["results"] = results,
                ["cublas_version"] = dev.Gemm.CuBlasVersion, ["cublas_library"] = CuBlasLibrary.LoadedName,
            }, new JsonSerializerOptions { WriteIndented = true }));
        return results.All(r => (bool)r["valid"]!) ? 0 : 1;
    }
}

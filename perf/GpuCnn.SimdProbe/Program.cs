// The SIMD GEMM family's CPU-time probe (issue 17):
//   dotnet run -c Release --project perf/GpuCnn.SimdProbe -- [--reps 10] [--threads N] [--only dense|conv]
// Dense shapes go through the engine's path (dev.Gemm.Run(GemmProduct.Dense(...))) on the CPU accelerator; the
// convolution-shaped products (ConvShapes.cs) call the host GEMM alone on the strided parameters the SIMD family builds
// for them, so the lowering is not timed. For each it prints wall-clock GFLOP/s, GFLOP per second of process CPU time
// (steadier than wall time on a shared, loaded machine), the best single run's GFLOP/s (the least disturbed by
// other processes) and an FNV-1a hash of the output's bits, so two builds can be checked bit for bit.
using System.Diagnostics;
using GpuCnn.Devices;
using GpuCnn.SimdProbe;
using ILGPU;
using ILGPU.Runtime;

string Arg(string name, string def)
{
    int i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : def;
}
int reps = int.Parse(Arg("reps", "10"));
int threads = int.Parse(Arg("threads", Environment.ProcessorCount.ToString()));
string only = Arg("only", "");
using var dev = DeviceManager.Open("cpu");
dev.Gemm.SimdThreads = threads;
Console.WriteLine($"device: {dev}; {threads} host threads; {reps} timed runs per shape after one warm-up");
if (only is "" or "dense")
    foreach (var (m, n, k, transB) in new[] { (512, 512, 512, false), (1024, 1024, 1024, false), (300, 200, 700, true), (70, 1000, 50, false) })
    {
        var rng = new Random(1);
        var a = new float[m * k];
        var b = new float[k * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        using var da = dev.Accelerator.Allocate1D(a);
        using var db = dev.Accelerator.Allocate1D(b);
        using var dc = dev.Accelerator.Allocate1D<float>((long)m * n);
        var product = GemmProduct.Dense(GemmOperation.LinearForward, m, n, k, false, transB, k, transB ? k : n, n);
        var operands = new GemmOperands { A = da.View, B = db.View, C = dc.View };
        Probe.Time($"{m}x{n}x{k}{(transB ? " Bᵀ" : "")} ({dev.Gemm.Choose(product, operands)})", 2.0 * m * n * k, reps,
            () => { dev.Gemm.Run(product, operands); dev.Synchronize(); }, () => dc.GetAsArray1D());
    }
if (only is "" or "conv") ConvShapes.Run(threads, reps);

namespace GpuCnn.SimdProbe
{
    static class Probe
    {
        /// <summary>One warm-up run (whose output is hashed), then <paramref name="reps"/> timed runs.</summary>
        public static void Time(string name, double flop, int reps, Action run, Func<float[]> output)
        {
            run();
            ulong hash = 14695981039346656037UL;
            foreach (float v in output()) { hash ^= BitConverter.SingleToUInt32Bits(v); hash *= 1099511628211UL; }
            var proc = Process.GetCurrentProcess();
            var cpu0 = proc.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            double best = double.MaxValue;
            for (int r = 0; r < reps; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                run();
                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            double wall = sw.Elapsed.TotalSeconds;
            proc.Refresh();
            double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
            double gflop = flop * reps / 1e9;
            Console.WriteLine($"{name}: {gflop / wall,7:F1} GFLOP/s wall, {gflop / cpu,7:F1} GFLOP per CPU-second, best run {flop / best / 1e9,7:F1} GFLOP/s, {wall / reps * 1e3,8:F3} ms, bits {hash:x16}");
        }
    }
}

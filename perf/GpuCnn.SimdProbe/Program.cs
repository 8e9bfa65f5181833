// The SIMD GEMM family through the engine's path (dev.Gemm.Run(GemmProduct.Dense(...))) on the CPU accelerator:
//   dotnet run -c Release --project perf/GpuCnn.SimdProbe -- [--reps 10]
// For each shape it prints wall-clock GFLOP/s, GFLOP per second of process CPU time (steadier than wall time on a
// shared, loaded machine) and an FNV-1a hash of the output's bits, so two builds can be checked bit for bit.
using System.Diagnostics;
using GpuCnn.Devices;
using ILGPU;
using ILGPU.Runtime;

int reps = args.Length > 1 && args[0] == "--reps" ? int.Parse(args[1]) : 10;
using var dev = DeviceManager.Open("cpu");
Console.WriteLine($"device: {dev}; {reps} timed runs per shape after one warm-up");
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
    void Run() { dev.Gemm.Run(product, operands); dev.Synchronize(); }
    Run();
    ulong hash = 14695981039346656037UL;
    foreach (float v in dc.GetAsArray1D()) { hash ^= BitConverter.SingleToUInt32Bits(v); hash *= 1099511628211UL; }
    var proc = Process.GetCurrentProcess();
    var cpu0 = proc.TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    for (int r = 0; r < reps; r++) Run();
    double wall = sw.Elapsed.TotalSeconds;
    proc.Refresh();
    double cpu = (proc.TotalProcessorTime - cpu0).TotalSeconds;
    double gflop = 2.0 * m * n * k * reps / 1e9;
    Console.WriteLine($"{m}x{n}x{k}{(transB ? " Bᵀ" : "")} ({dev.Gemm.Choose(product, operands)}): {gflop / wall,7:F1} GFLOP/s wall, {gflop / cpu,7:F1} GFLOP per CPU-second, bits {hash:x16}");
}

using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using GpuCnn.Perf;

// Kernel micro-benchmarks (BenchmarkDotNet, in-process so that it also runs from a single-file bundle on the GPU machine):
//   dotnet run -c Release --project perf/GpuCnn.Perf -- kernels [--filter *Conv*] [--short]
//   GPUCNN_BENCH_DEVICE=cpu dotnet run -c Release --project perf/GpuCnn.Perf -- kernels
// End-to-end training throughput runs through the CLI's runner, which this forwards to:
//   dotnet run -c Release --project perf/GpuCnn.Perf -- e2e lenet5 --batch-size 64 --steps 100 --device cpu --metrics m.json
//   dotnet run -c Release --project perf/GpuCnn.Perf -- sgemm --size 4096 --device cuda [--metrics m.json]
// The test suite's cases for the GPU back ends, runnable from the bundle on a machine without the .NET SDK:
//   dotnet run -c Release --project perf/GpuCnn.Perf -- check --backends cuda,opencl [--filter Conv]
if (args.Length > 0 && args[0] == "check")
    return CheckRunner.Run(args[1..]);
// Any gpucnn command, e.g. `cli devices`, from the same bundle.
if (args.Length > 0 && args[0] == "cli")
    return GpuCnn.Cli.CommandLine.Run(args[1..], Console.Out, Console.Error);
if (args.Length > 0 && args[0] == "sgemm")
    return SgemmBench.Run(args[1..]);
if (args.Length > 0 && args[0] == "e2e")
    return GpuCnn.Cli.CommandLine.Run(["bench", .. args[1..]], Console.Out, Console.Error);
if (args.Length == 0 || args[0] != "kernels")
{
    Console.Error.WriteLine("usage: GpuCnn.Perf kernels [BenchmarkDotNet args] | e2e MODEL [gpucnn bench options] | sgemm [--size N] [--device D] [--reps R] [--metrics F] | check [--backends cuda,opencl] [--filter TEXT] [--list] | cli GPUCNN-ARGS");
    return 2;
}
bool quick = args.Contains("--short");
var job = (quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance);
var config = DefaultConfig.Instance.AddJob(job).AddColumn(new FlopsColumn()).WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkRunner.Run<KernelBenchmarks>(config, args.Skip(1).Where(a => a != "--short").ToArray());
return 0;

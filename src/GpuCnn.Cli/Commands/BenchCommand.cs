using System.CommandLine;
using System.Diagnostics;
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Models;
using GpuCnn.Training;

namespace GpuCnn.Cli.Commands;

/// <summary><c>gpucnn bench MODEL</c>: times training steps on one fixed batch (the step, not the loader).</summary>
static class BenchCommand
{
    public static Command Create(TextWriter o)
    {
        var model = Opt.ModelArgument();
        var batchOpt = Opt.Int("batch-size", "images per step (default 64)", 1, "B");
        var stepsOpt = Opt.Int("steps", "timed steps (default 50)", 1);
        var warmupOpt = Opt.Int("warmup", "untimed steps first (default 5)", 0);
        var sizeOpt = Opt.Int("image-size", "side of the square input images (default: the model's)", 1);
        var classesOpt = Opt.Int("classes", "number of classes (default: the model's)", 2, "K");
        var noFuse = Opt.Flag("no-fuse", "keep every activation a separate kernel");
        var cudaGraphOpt = Opt.Flag("cuda-graph", "replay each step as one captured CUDA graph");
        var metricsOpt = OutputPath.Option("metrics", "write the results as JSON", "FILE.json");
        var profileOpt = Opt.Flag("profile", "time each step of the schedule (synchronised after each)");
        var dev = new DeviceOptions();
        var c = new Command("bench", "Time training steps of a model on one fixed batch.") { model, batchOpt, stepsOpt, warmupOpt, sizeOpt, classesOpt };
        dev.AddTo(c);
        c.Add(noFuse);
        c.Add(cudaGraphOpt);
        c.Add(metricsOpt);
        c.Add(profileOpt);
        c.SetAction(p =>
        {
            string name = Opt.Model(p, model, "bench");
            int batch = p.GetValue(batchOpt) ?? 64, steps = p.GetValue(stepsOpt) ?? 50, warmup = p.GetValue(warmupOpt) ?? 5;
            string? metrics = p.GetValue(metricsOpt);
            bool profile = p.GetValue(profileOpt);
            var (defSize, defChannels, defClasses) = ModelZoo.Defaults(name);
            int size = p.GetValue(sizeOpt) ?? defSize, classes = p.GetValue(classesOpt) ?? (defChannels == 1 ? 10 : defClasses);
            var graph = ModelZoo.Create(name, classes, size, defChannels);
            var devices = dev.Open(p, graph);
            bool fuse = !p.GetValue(noFuse), cudaGraph = p.GetValue(cudaGraphOpt);
            // Device memory before the model exists, so the reading after the run is what the model, its kernels,
            // tuning scratch and any cuBLAS workspace hold (CUDA only).
            var memoryBefore = devices.Select(d => d.MemoryInUse()).ToArray();
            try
            {
                var opts = new TrainOptions { BatchSize = batch, FuseActivations = fuse, CudaGraphs = cudaGraph };
                using var trainer = new Trainer(graph, devices, opts);
                var ex = trainer.Executor;
                // One fixed batch (real digits for 1-channel models, seeded synthetic images otherwise): the benchmark
                // times the training step, not the loader.
                var x = new float[batch * defChannels * size * size];
                var y = new int[batch];
                if (defChannels == 1 && size == 28)
                {
                    var (train, _) = Mnist.LoadBundled();
                    for (int i = 0; i < batch; i++)
                    {
                        int k = i % train.Count;
                        for (int j = 0; j < train.SampleSize; j++) x[i * train.SampleSize + j] = (train.Images[k * train.SampleSize + j] - opts.Mean) / opts.Std;
                        y[i] = train.Labels[k];
                    }
                }
                else
                {
                    var syn = SyntheticData.Create(batch, defChannels, size, size, classes, 1);
                    syn.Images.CopyTo(x, 0);
                    syn.Labels.CopyTo(y, 0);
                }
                ex.SetInput(x);
                ex.SetLabels(y);
                void Step() => trainer.RunStep();
                for (int i = 0; i < warmup; i++) Step();
                ex.Synchronize();
                ex.ReadStatistics();
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < steps; i++) Step();
                ex.Synchronize();
                double secs = sw.Elapsed.TotalSeconds;
                var (l, _, n) = ex.ReadStatistics();
                double ips = batch * steps / secs;
                long? deviceMemory = null;
                for (int i = 0; i < devices.Count; i++)
                    if (devices[i].MemoryInUse() is long after && memoryBefore[i] is long before)
                        deviceMemory = (deviceMemory ?? 0) + Math.Max(0, after - before);
                o.WriteLine($"device{(devices.Count > 1 ? "s" : "")}: {string.Join(", ", devices)}");
                o.WriteLine($"{graph.Name} training, batch {batch}, {defChannels}x{size}x{size}: {steps} steps in {secs:F3} s = {secs / steps * 1000:F3} ms/step, " +
                            $"{ips:G4} img/s (final mean loss {l / Math.Max(1, n):F4})");
                foreach (var d in devices) o.WriteLine(DeviceOptions.GemmLine(d));
                o.WriteLine(deviceMemory is long m
                    ? $"device memory held by the run: {m / 1048576.0:F0} MiB (driver's used memory after the run minus before the model)"
                    : $"device memory held by the run: not reported by this back end (planned activations {ex.PeakActivationBytes / 1048576.0:F1} MiB)");
                if (cudaGraph)
                    o.WriteLine(trainer.CudaGraphProblem is { } why ? $"cuda graph: not used ({why})" : $"cuda graph: {trainer.CudaGraphReplays} of {warmup + steps} steps replayed");
                if (profile)
                {
                    // The median of five synchronised passes, so one descheduled step does not stand out; the update
                    // runs outside the executor's schedule, and its cost grows with the parameter count.
                    o.WriteLine("per-step profile (median of 5, synchronised after each step of the schedule, so the sum exceeds a normal step):");
                    var passes = new List<IReadOnlyList<(string Step, double Milliseconds)>>();
                    var updates = new List<double>();
                    for (int r = 0; r < 5; r++)
                    {
                        passes.Add(ex.Profile());
                        ex.Synchronize();
                        long u0 = Stopwatch.GetTimestamp();
                        trainer.Optimizer.Step();
                        ex.Synchronize();
                        updates.Add(Stopwatch.GetElapsedTime(u0).TotalMilliseconds);
                    }
                    static double Median(IEnumerable<double> v) => v.Order().ElementAt(2);
                    for (int i = 0; i < passes[0].Count; i++) o.WriteLine($"  {passes[0][i].Step,-32} {Median(passes.Select(p => p[i].Milliseconds)),9:F3} ms");
                    o.WriteLine($"  {"update (" + trainer.Optimizer.Name + ")",-32} {Median(updates),9:F3} ms");
                    long l0 = devices.Sum(d => d.LaunchCount);
                    Step();
                    o.WriteLine($"launches per training step: {devices.Sum(d => d.LaunchCount) - l0}");
                }
                if (metrics is not null)
                    CommandLine.WriteJson(metrics, new Dictionary<string, object?>
                    {
                        ["model"] = graph.Name, ["device"] = string.Join(",", devices.Select(d => d.Id)), ["device_name"] = string.Join(", ", devices.Select(d => d.Name)),
                        ["batch_size"] = batch, ["image_size"] = size, ["steps"] = steps, ["warmup"] = warmup, ["seconds"] = secs,
                        ["ms_per_step"] = secs / steps * 1000, ["images_per_second"] = ips, ["peak_activation_bytes"] = ex.PeakActivationBytes,
                        ["device_memory_bytes"] = deviceMemory,
                        ["bytes_transferred_per_step"] = ex.Transfers.Sum(t => t.Bytes),
                        ["gemm"] = devices.Select(DeviceOptions.GemmLine).ToList(),
                        ["gemm_choices"] = devices.SelectMany(d => d.Gemm.Choices.Select(kv => $"{d.Id} {kv.Key}: {kv.Value}")).ToList(),
                        ["fused_activations"] = fuse, ["cuda_graph"] = cudaGraph, ["cuda_graph_replays"] = trainer.CudaGraphReplays,
                        ["cuda_graph_problem"] = trainer.CudaGraphProblem,
                    });
            }
            finally
            {
                foreach (var d in devices) d.Dispose();
            }
            return 0;
        });
        return c;
    }
}

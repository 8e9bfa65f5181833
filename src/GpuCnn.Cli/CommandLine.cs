using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Tensors;
using GpuCnn.Training;

namespace GpuCnn.Cli;

/// <summary>The <c>gpucnn</c> command: train, eval, bench, devices, summary.</summary>
public static class CommandLine
{
    const string Usage = """
        usage: gpucnn <command> [options]

          train MODEL   [--epochs N] [--batch-size B] [--lr X] [--momentum M] [--weight-decay W] [--seed S]
                        [--lr-step N] [--lr-gamma G] [--schedule SPEC] [--optimizer sgd|adam|adamw] [--nesterov]
                        [--no-decay-bias] [--steps N] [--train-limit N]
                        [--data mnist|cifar10|synthetic|DIR] [--data-dir DIR] [--image-size N] [--classes K]
                        [--synthetic-count N] [--augment] [--device D | --devices D,D,... [--placement P]]
                        [--gemm G] [--tf32] [--no-fuse] [--cuda-graph]
                        [--metrics FILE.json] [--save FILE]
          eval MODEL    --load FILE [--batch-size B] [--device D] [--data ...] [--data-dir DIR] [--metrics FILE.json]
          bench MODEL   [--batch-size B] [--steps N] [--warmup N] [--image-size N] [--classes K]
                        [--device D | --devices D,D,... [--placement P]] [--gemm G] [--tf32] [--no-fuse]
                        [--cuda-graph] [--metrics FILE.json] [--profile]
          summary MODEL [--image-size N] [--classes K] [--devices D,D,... --placement P [--batch-size B]]
          devices

        MODEL: {models}. D: auto (default: CUDA, then OpenCL, then CPU), cuda[:N], opencl[:N], cpu[:N].
        --data: mnist (default; the 10,000 bundled digits, 8,000 train / 2,000 test, or the official IDX files in
                --data-dir), cifar10 (the binary batches in --data-dir), synthetic (seeded images of --image-size,
                --classes classes), or a folder of MNIST IDX files. --steps N stops after N optimiser steps and records
                the loss of every step. P: single, towers, or NODE=DEVICE[,...].
        G: the kernels of convolutions and fully connected layers: auto (default: timed per shape on GPUs; on the CPU
           accelerator simd (host SIMD) but direct for tiny ones), direct, tile64, tile128, simd, blocked (16x8
           register tiles, no shared memory), or cublas (CUDA only; falls back with a reason elsewhere).
           --tf32 lets cuBLAS use TF32 tensor cores (implies --gemm cublas). --no-fuse keeps every ReLU a separate
           kernel (by default a ReLU after a convolution or linear layer runs in that layer's epilogue).
           --cuda-graph replays each training step as one captured CUDA graph (CUDA, one device, SGD, no dropout).
        SPEC: constant, step:N[:gamma], multistep:a,b,...[:gamma], cosine[:etaMin], each optionally after warmup:N+
              (e.g. warmup:2+cosine). Default: step:4:0.3. The default --lr depends on the model and the batch size.
        """;

    static readonly HashSet<string> Flags = new() { "profile", "help", "augment", "nesterov", "no-decay-bias", "tf32", "no-fuse", "cuda-graph" };

    /// <summary>One line on the GEMM families a device uses, including why cuBLAS was not used when it was asked for.</summary>
    static string GemmLine(ComputeDevice d)
    {
        var g = d.Gemm;
        string mode = g.Preference == GemmFamily.CuBlas && g.CuBlasReady()
            ? $"cublas {g.CuBlasVersion}{(g.Tf32 ? " (tf32)" : " (fp32)")}{(CuBlasLibrary.LoadedName is { } n ? $" from {n}" : "")}"
            : g.Preference.ToString().ToLowerInvariant();
        string problem = g.Preference == GemmFamily.CuBlas && g.CuBlasProblem is { } p ? $"; {p}" : "";
        var counts = g.Choices.Values.GroupBy(v => v).Select(x => $"{x.Key.ToString().ToLowerInvariant()} x{x.Count()}");
        // GPUs time the candidates; the CPU accelerator chooses by the size of each product without timing.
        string how = d.Kind == DeviceKind.Cpu && !g.TuneOnCpu ? "chosen by size" : "tuned";
        string chosen = g.Choices.Count > 0 ? $"; {how}: {string.Join(", ", counts)}" : "";
        return $"gemm on {d.Id}: {mode}{problem}{chosen}";
    }

    /// <summary>Runs a command; returns the process exit code. Errors print one line, never a stack trace.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string usage = Usage.Replace("{models}", string.Join(", ", ModelZoo.Names));
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var a = new Arguments(args.Skip(1), Flags);
            return args[0] switch
            {
                "train" => Train(a, stdout),
                "eval" => Eval(a, stdout),
                "bench" => Bench(a, stdout),
                "summary" => Summary(a, stdout),
                "devices" => Devices(a, stdout),
                _ => throw new UsageException($"unknown command '{args[0]}'; valid commands: train, eval, bench, summary, devices"),
            };
        }
        catch (UsageException e) { stderr.WriteLine($"error: {e.Message}"); return 2; }
        catch (DataFormatException e) { stderr.WriteLine($"error: {e.Message}"); return 1; }
        catch (FileNotFoundException e) { stderr.WriteLine($"error: {e.Message}"); return 1; }
        catch (DirectoryNotFoundException e) { stderr.WriteLine($"error: {e.Message}"); return 1; }
        catch (ShapeMismatchException e) { stderr.WriteLine($"error: {e.Message}"); return 1; }
        catch (ArgumentException e) { stderr.WriteLine($"error: {e.Message}"); return 2; }
        catch (IOException e) { stderr.WriteLine($"error: {e.Message}"); return 1; }
        catch (InvalidOperationException e) { stderr.WriteLine($"error: {e.Message}"); return 1; }
    }

    static string ModelName(Arguments a, string command)
    {
        if (a.Positional.Count != 1)
            throw new UsageException($"'{command}' takes one model name; valid choices: {string.Join(", ", ModelZoo.Names)}");
        return a.Positional[0];
    }

    /// <summary>What to train on, resolved from --data, --data-dir, --image-size, --classes and --augment.</summary>
    sealed record DataChoice(Dataset Train, Dataset Test, string Description, int Channels, int ImageSize, int Classes,
        float Mean, float Std, Augmentation? TrainTransform, Augmentation? EvalTransform);

    static DataChoice LoadData(Arguments a, string model, int seed)
    {
        string data = a.String("data", "mnist")!;
        string? dir = a.String("data-dir");
        int? imageSize = a.Has("image-size") ? a.Int("image-size", 0, 1) : null;
        int? classes = a.Has("classes") ? a.Int("classes", 0, 2) : null;
        int? count = a.Has("synthetic-count") ? a.Int("synthetic-count", 0, 1) : null;
        bool augment = a.Has("augment");
        var mnistDefaults = new TrainOptions();
        switch (data.ToLowerInvariant())
        {
            case "mnist":
            {
                var (train, test) = dir is null ? Mnist.LoadBundled() : Mnist.LoadDirectory(dir);
                CheckFixed("mnist", 28, 10, imageSize, classes);
                return new(train, test, dir is null ? "bundled MNIST digits" : $"MNIST from {dir}", 1, 28, 10, mnistDefaults.Mean, mnistDefaults.Std,
                    augment ? new Augmentation(seed).RandomCrop(2).Normalize(new[] { mnistDefaults.Mean }, new[] { mnistDefaults.Std }) : null, null);
            }
            case "cifar10":
            {
                if (dir is null) throw new UsageException("--data cifar10 needs --data-dir DIR (the folder with data_batch_1.bin ... test_batch.bin)");
                var (train, test) = Cifar10.LoadDirectory(dir);
                CheckFixed("cifar10", 32, 10, imageSize, classes);
                var norm = new Augmentation(seed).Normalize(Cifar10.Mean, Cifar10.Std);
                var trainT = augment ? new Augmentation(seed).RandomCrop(4).HorizontalFlip().Normalize(Cifar10.Mean, Cifar10.Std) : norm;
                return new(train, test, $"CIFAR-10 from {dir}{(augment ? " with crop and flip augmentation" : "")}", 3, 32, 10, 0, 1, trainT, norm);
            }
            case "synthetic":
            {
                var (defSize, defChannels, _) = ModelZoo.Defaults(model);
                int size = imageSize ?? defSize, k = classes ?? 10;
                // Large images make large data sets: keep the default small enough to generate in seconds.
                int n = count ?? (size >= 128 ? 256 : 2048);
                var all = SyntheticData.Create(n + Math.Max(n / 8, 16), defChannels, size, size, k, seed);
                // Synthetic pixels lie in [0, 1] around 0.5; normalise them like real data so that training starts well.
                return new(all.Subset(0, n), all.Subset(n, all.Count - n), $"synthetic {defChannels}x{size}x{size}, {k} classes (seed {seed})",
                    defChannels, size, k, SyntheticMean, SyntheticStd, null, null);
            }
            default:
                if (Directory.Exists(data))
                {
                    var (train, test) = Mnist.LoadDirectory(data);
                    return new(train, test, $"MNIST from {data}", 1, 28, 10, mnistDefaults.Mean, mnistDefaults.Std, null, null);
                }
                throw new UsageException($"unknown data '{data}'; valid choices: mnist, cifar10, synthetic, or a folder of MNIST IDX files");
        }
    }

    const float SyntheticMean = 0.5f, SyntheticStd = 0.25f;

    static void CheckFixed(string data, int size, int classes, int? imageSize, int? wantClasses)
    {
        if (imageSize is int s && s != size) throw new UsageException($"--image-size {s} does not match {data}'s {size}x{size} images");
        if (wantClasses is int k && k != classes) throw new UsageException($"--classes {k} does not match {data}'s {classes} classes");
    }

    /// <summary>Opens --device D or --devices A,B,... and applies --placement.</summary>
    static List<ComputeDevice> OpenDevices(Arguments a, Graph graph)
    {
        string? one = a.String("device"), many = a.String("devices"), placement = a.String("placement");
        if (one is not null && many is not null) throw new UsageException("give either --device or --devices, not both");
        var specs = many is null ? new[] { one ?? "auto" } : many.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (specs.Length == 0) throw new UsageException("--devices needs at least one device");
        // Validate every spec before opening any accelerator.
        foreach (var spec in specs) DeviceManager.Resolve(spec);
        Placement.Apply(graph, placement ?? "single", specs.Length);
        string? gemmName = a.String("gemm");
        bool tf32 = a.Has("tf32");
        GemmFamily gemm;
        try { gemm = GemmEngine.Parse(gemmName); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (tf32 && gemmName is null) gemm = GemmFamily.CuBlas; // TF32 exists only on cuBLAS's tensor-core path
        if (tf32 && gemm != GemmFamily.CuBlas)
            throw new UsageException("--tf32 needs --gemm cublas: the ILGPU kernels compute in fp32");
        var devices = new List<ComputeDevice>();
        foreach (var spec in specs)
        {
            var d = DeviceManager.Open(spec);
            try { if (gemmName is not null || tf32) d.Gemm.Preference = gemm; }
            catch (ArgumentException)
            {
                d.Dispose();
                foreach (var open in devices) open.Dispose();
                throw;
            }
            d.Gemm.Tf32 = tf32;
            devices.Add(d);
        }
        return devices;
    }

    static int Train(Arguments a, TextWriter o)
    {
        string model = ModelName(a, "train");
        var defaults = new TrainOptions();
        int seed = a.Int("seed", 1);
        int batchSize = a.Int("batch-size", 64, 1);
        var opts = new TrainOptions
        {
            Epochs = a.Int("epochs", 10, 1),
            BatchSize = batchSize,
            LearningRate = a.Float("lr", ModelZoo.DefaultLearningRate(model, batchSize), 0),
            Momentum = a.Float("momentum", defaults.Momentum, 0),
            WeightDecay = a.Float("weight-decay", defaults.WeightDecay, 0),
            Seed = seed,
            LrStepEpochs = a.Int("lr-step", defaults.LrStepEpochs, 0),
            LrGamma = a.Float("lr-gamma", defaults.LrGamma, 0),
            MaxSteps = a.Int("steps", 0, 0),
            Optimizer = a.String("optimizer", "sgd")!,
            Nesterov = a.Has("nesterov"),
            DecayBiases = !a.Has("no-decay-bias"),
            Schedule = a.String("schedule"),
            FuseActivations = !a.Has("no-fuse"),
            CudaGraphs = a.Has("cuda-graph"),
        };
        int limit = a.Int("train-limit", 0, 0);
        string? metrics = a.String("metrics"), save = a.String("save");
        var data = LoadData(a, model, seed);
        opts = opts with { Mean = data.Mean, Std = data.Std, TrainTransform = data.TrainTransform, EvalTransform = data.EvalTransform };
        var graph = ModelZoo.Create(model, data.Classes, data.ImageSize, data.Channels);
        var devices = OpenDevices(a, graph);
        a.RejectUnknown("train");
        try
        {
            var (train, test) = (data.Train, data.Test);
            if (limit > 0 && limit < train.Count) train = train.Subset(0, limit);
            o.WriteLine($"device{(devices.Count > 1 ? "s" : "")}: {string.Join(", ", devices)}");
            o.WriteLine($"data: {train.Count} training and {test.Count} test images ({data.Description})");
            var total = Stopwatch.StartNew();
            using var trainer = new Trainer(graph, devices, opts) { RecordLosses = opts.MaxSteps > 0 };
            var ex = trainer.Executor;
            o.WriteLine($"model: {graph.Name}, {graph.ParameterCount:N0} parameters, planned activation memory {ex.PeakActivationBytes / 1024.0:F0} KiB " +
                        $"(without reuse {ex.UnplannedActivationBytes / 1024.0:F0} KiB)");
            foreach (var d in devices.Where(d => d.Gemm.Preference != GemmFamily.Auto)) o.WriteLine(GemmLine(d));
            if (opts.CudaGraphs && trainer.CudaGraphProblem is { } noGraph) o.WriteLine($"cuda graph: not used ({noGraph})");
            long crossing = ex.Transfers.Sum(t => t.Bytes);
            if (devices.Count > 1) o.WriteLine($"placement: {ex.Transfers.Count} transfers, {crossing:N0} bytes cross devices per step");
            int lastEpoch = trainer.LastEpoch(train.Count);
            var results = trainer.Fit(train, test, new ProgressPrinter(o), r =>
                o.WriteLine($"epoch {r.Epoch}/{lastEpoch}: train loss {r.TrainLoss:F4} acc {r.TrainAccuracy * 100:F2}% | " +
                            $"test loss {r.TestLoss:F4} acc {r.TestAccuracy * 100:F2}% | {r.ImagesPerSecond:G4} img/s, {r.Seconds:F1} s, lr {r.LearningRate:G3}"));
            double seconds = total.Elapsed.TotalSeconds;
            var last = results[^1];
            double trainSecs = results.Sum(r => r.Seconds);
            double imgs = results.Sum(r => r.ImagesPerSecond * r.Seconds) / Math.Max(1e-9, trainSecs);
            if (trainer.RecordLosses)
                o.WriteLine($"losses per step: {string.Join(" ", trainer.Losses.Select(l => l.ToString("F4", CultureInfo.InvariantCulture)))}");
            o.WriteLine($"final test accuracy {last.TestAccuracy * 100:F2}% on {test.Count} images; {ProgressPrinter.FormatRate(imgs)} img/s; {seconds:F1} s in all");
            if (save is not null)
            {
                Checkpoint.Save(save, ex.Parameters, trainer.Optimizer, trainer.EpochsDone,
                    new Dictionary<string, string>
                    {
                        ["seed"] = opts.Seed.ToString(CultureInfo.InvariantCulture),
                        ["mean"] = opts.Mean.ToString("R", CultureInfo.InvariantCulture),
                        ["std"] = opts.Std.ToString("R", CultureInfo.InvariantCulture),
                        ["data"] = a.String("data", "mnist")!,
                    });
                o.WriteLine($"saved checkpoint to {save}");
            }
            if (metrics is not null)
                WriteJson(metrics, new Dictionary<string, object?>
                {
                    ["model"] = graph.Name, ["device"] = string.Join(",", devices.Select(d => d.Id)),
                    ["device_name"] = string.Join(", ", devices.Select(d => d.Name)), ["devices"] = devices.Count,
                    ["epochs"] = results.Count, ["batch_size"] = opts.BatchSize, ["learning_rate"] = opts.LearningRate, ["seed"] = opts.Seed,
                    ["data"] = data.Description, ["train_images"] = train.Count, ["test_images"] = test.Count, ["parameters"] = graph.ParameterCount,
                    ["train_loss"] = last.TrainLoss, ["train_accuracy"] = last.TrainAccuracy, ["test_loss"] = last.TestLoss,
                    ["test_accuracy"] = last.TestAccuracy, ["images_per_second"] = imgs, ["seconds"] = seconds,
                    ["steps"] = results.Sum(r => r.Steps), ["peak_activation_bytes"] = ex.PeakActivationBytes,
                    ["bytes_transferred_per_step"] = crossing,
                    ["transfers"] = ex.Transfers.Select(t => new Dictionary<string, object?>
                    {
                        ["tensor"] = t.Tensor, ["from"] = t.From, ["to"] = t.To, ["direction"] = t.Backward ? "backward" : "forward", ["bytes"] = t.Bytes,
                    }).ToList(),
                    ["losses"] = trainer.RecordLosses ? trainer.Losses : null,
                    ["per_epoch"] = results.Select(r => new Dictionary<string, object?>
                    {
                        ["epoch"] = r.Epoch, ["train_loss"] = r.TrainLoss, ["train_accuracy"] = r.TrainAccuracy, ["test_loss"] = r.TestLoss,
                        ["test_accuracy"] = r.TestAccuracy, ["images_per_second"] = r.ImagesPerSecond, ["seconds"] = r.Seconds, ["learning_rate"] = r.LearningRate,
                    }).ToList(),
                });
        }
        finally
        {
            foreach (var d in devices) d.Dispose();
        }
        return 0;
    }

    static int Eval(Arguments a, TextWriter o)
    {
        string model = ModelName(a, "eval");
        string load = a.String("load") ?? throw new UsageException("eval needs --load FILE (a checkpoint from 'gpucnn train --save')");
        int batch = a.Int("batch-size", 250, 1);
        string? deviceSpec = a.String("device"), metrics = a.String("metrics");
        var header = Checkpoint.ReadHeader(load);
        // Synthetic data is regenerated from the training run's seed, so eval sees the same held-out images.
        int seed = header.Extra.TryGetValue("seed", out var sd) ? int.Parse(sd, CultureInfo.InvariantCulture) : 1;
        var data = LoadData(a, model, seed);
        a.RejectUnknown("eval");
        var graph = ModelZoo.Create(model, data.Classes, data.ImageSize, data.Channels);
        var test = data.Test;
        using var device = DeviceManager.Open(deviceSpec);
        using var ex = new Executor(graph, device, batch, new ExecutorOptions { Training = false });
        Checkpoint.Load(load, ex.Parameters);
        float mean = header.Extra.TryGetValue("mean", out var m) ? float.Parse(m, CultureInfo.InvariantCulture) : data.Mean;
        float std = header.Extra.TryGetValue("std", out var s) ? float.Parse(s, CultureInfo.InvariantCulture) : data.Std;
        var sw = Stopwatch.StartNew();
        var (loss, acc) = data.EvalTransform is null ? Trainer.Evaluate(ex, test, mean, std) : Trainer.Evaluate(ex, test, data.EvalTransform);
        double secs = sw.Elapsed.TotalSeconds;
        o.WriteLine($"device: {device}");
        o.WriteLine($"{graph.Name} from {load} (epoch {header.Epoch}): test loss {loss:F4}, accuracy {acc * 100:F2}% on {test.Count} images, {ProgressPrinter.FormatRate(test.Count / secs)} img/s");
        if (metrics is not null)
            WriteJson(metrics, new Dictionary<string, object?>
            {
                ["model"] = graph.Name, ["device"] = device.Id, ["checkpoint"] = load, ["batch_size"] = batch,
                ["test_loss"] = loss, ["test_accuracy"] = acc, ["test_images"] = test.Count, ["images_per_second"] = test.Count / secs, ["seconds"] = secs,
            });
        return 0;
    }

    static int Bench(Arguments a, TextWriter o)
    {
        string model = ModelName(a, "bench");
        int batch = a.Int("batch-size", 64, 1), steps = a.Int("steps", 50, 1), warmup = a.Int("warmup", 5, 0);
        string? metrics = a.String("metrics");
        bool profile = a.Has("profile");
        var (defSize, defChannels, defClasses) = ModelZoo.Defaults(model);
        int size = a.Int("image-size", defSize, 1), classes = a.Int("classes", defChannels == 1 ? 10 : defClasses, 2);
        var graph = ModelZoo.Create(model, classes, size, defChannels);
        var devices = OpenDevices(a, graph);
        bool fuse = !a.Has("no-fuse"), cudaGraph = a.Has("cuda-graph");
        a.RejectUnknown("bench");
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
            foreach (var d in devices) o.WriteLine(GemmLine(d));
            o.WriteLine(deviceMemory is long m
                ? $"device memory held by the run: {m / 1048576.0:F0} MiB (driver's used memory after the run minus before the model)"
                : $"device memory held by the run: not reported by this back end (planned activations {ex.PeakActivationBytes / 1048576.0:F1} MiB)");
            if (cudaGraph)
                o.WriteLine(trainer.CudaGraphProblem is { } why ? $"cuda graph: not used ({why})" : $"cuda graph: {trainer.CudaGraphReplays} of {warmup + steps} steps replayed");
            if (profile)
            {
                o.WriteLine("per-step profile (synchronised after each step of the schedule, so the sum exceeds a normal step):");
                foreach (var (name, ms) in ex.Profile()) o.WriteLine($"  {name,-32} {ms,9:F3} ms");
            }
            if (metrics is not null)
                WriteJson(metrics, new Dictionary<string, object?>
                {
                    ["model"] = graph.Name, ["device"] = string.Join(",", devices.Select(d => d.Id)), ["device_name"] = string.Join(", ", devices.Select(d => d.Name)),
                    ["batch_size"] = batch, ["image_size"] = size, ["steps"] = steps, ["warmup"] = warmup, ["seconds"] = secs,
                    ["ms_per_step"] = secs / steps * 1000, ["images_per_second"] = ips, ["peak_activation_bytes"] = ex.PeakActivationBytes,
                    ["device_memory_bytes"] = deviceMemory,
                    ["bytes_transferred_per_step"] = ex.Transfers.Sum(t => t.Bytes),
                    ["gemm"] = devices.Select(GemmLine).ToList(),
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
    }

    static int Summary(Arguments a, TextWriter o)
    {
        string model = ModelName(a, "summary");
        var (defSize, defChannels, defClasses) = ModelZoo.Defaults(model);
        int size = a.Int("image-size", defSize, 1), classes = a.Int("classes", defClasses, 2), batch = a.Int("batch-size", 128, 1);
        string? many = a.String("devices"), placement = a.String("placement");
        a.RejectUnknown("summary");
        var graph = ModelZoo.Create(model, classes, size, defChannels);
        if (many is not null)
        {
            var specs = many.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var spec in specs) DeviceManager.Resolve(spec);
            Placement.Apply(graph, placement ?? "single", specs.Length);
        }
        else if (placement is not null) throw new UsageException("--placement needs --devices A,B");
        o.WriteLine(ModelSummary.Format(graph));
        if (many is not null)
        {
            var specs = many.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var crossings = ModelSummary.Crossings(graph, batch);
            o.WriteLine();
            o.WriteLine($"placement '{placement ?? "single"}' on {string.Join(", ", specs.Select((d, i) => $"{i}: {d}"))}; bytes crossing per training step at batch {batch}:");
            o.WriteLine($"  {"activation",-12} {"from",6} {"to",4} {"forward bytes",16} {"gradient bytes",16}");
            long total = 0;
            foreach (var (producer, from, to, bytes) in crossings)
            {
                long back = graph[producer].IsInput ? 0 : bytes;
                total += bytes + back;
                o.WriteLine($"  {producer,-12} {from,6} {to,4} {bytes,16:N0} {back,16:N0}");
            }
            o.WriteLine($"bytes transferred per step: {total}");
            foreach (var input in graph.TopologicalOrder().Where(n => n.IsInput))
            {
                var readers = graph.TopologicalOrder().Where(n => n.Inputs.Contains(input)).Select(n => n.Device).Distinct().OrderBy(d => d).ToList();
                if (readers.Count > 1)
                    o.WriteLine($"input '{input.Name}' is uploaded from the host to devices {string.Join(", ", readers)}: {input.Shape.Size * batch * sizeof(float):N0} bytes each, no copy between devices");
            }
        }
        return 0;
    }

    static int Devices(Arguments a, TextWriter o)
    {
        a.RejectUnknown("devices");
        if (a.Positional.Count > 0) throw new UsageException("'devices' takes no arguments");
        var best = DeviceManager.Best();
        o.WriteLine($"{"id",-10} {"name",-48} {"memory",10}  status");
        foreach (var d in DeviceManager.List())
        {
            string mem = d.MemoryBytes > 0 ? $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB" : "host";
            string status = !d.Usable ? $"skipped: {d.Reason}" : d == best ? "usable (best)" : "usable";
            o.WriteLine($"{d.Id,-10} {Truncate(d.Name, 48),-48} {mem,10}  {status}");
        }
        return 0;
    }

    static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    static void WriteJson(string path, object value)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllText(full, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
    }
}

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
                        [--lr-step N] [--lr-gamma G] [--steps N] [--train-limit N] [--device D] [--data DIR]
                        [--metrics FILE.json] [--save FILE]
          eval MODEL    --load FILE [--batch-size B] [--device D] [--data DIR] [--metrics FILE.json]
          bench MODEL   [--batch-size B] [--steps N] [--warmup N] [--device D] [--metrics FILE.json] [--profile]
          summary MODEL
          devices

        MODEL: {models}. D: auto (default: CUDA, then OpenCL, then CPU), cuda[:N], opencl[:N], cpu.
        DIR: a folder holding the MNIST IDX files (train-images-idx3-ubyte, ... optionally .gz);
             without --data, the 10,000 bundled digits (8,000 train / 2,000 test) are used.
        """;

    static readonly HashSet<string> Flags = new() { "profile", "help" };

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

    static (Dataset Train, Dataset Test) LoadData(string? dir) =>
        dir is null ? Mnist.LoadBundled() : Mnist.LoadDirectory(dir);

    static int Train(Arguments a, TextWriter o)
    {
        string model = ModelName(a, "train");
        var opts = new TrainOptions
        {
            Epochs = a.Int("epochs", 10, 1),
            BatchSize = a.Int("batch-size", 64, 1),
            LearningRate = a.Float("lr", new TrainOptions().LearningRate, 0),
            Momentum = a.Float("momentum", new TrainOptions().Momentum, 0),
            WeightDecay = a.Float("weight-decay", new TrainOptions().WeightDecay, 0),
            Seed = a.Int("seed", 1),
            LrStepEpochs = a.Int("lr-step", new TrainOptions().LrStepEpochs, 0),
            LrGamma = a.Float("lr-gamma", new TrainOptions().LrGamma, 0),
            MaxSteps = a.Int("steps", 0, 0),
        };
        int limit = a.Int("train-limit", 0, 0);
        string? deviceSpec = a.String("device"), dataDir = a.String("data"), metrics = a.String("metrics"), save = a.String("save");
        a.RejectUnknown("train");

        var graph = ModelZoo.Create(model);
        var (train, test) = LoadData(dataDir);
        if (limit > 0 && limit < train.Count) train = train.Subset(0, limit);
        using var device = DeviceManager.Open(deviceSpec);
        o.WriteLine($"device: {device}");
        o.WriteLine($"data: {train.Count} training and {test.Count} test images ({(dataDir is null ? "bundled MNIST digits" : dataDir)})");
        var total = Stopwatch.StartNew();
        using var trainer = new Trainer(graph, device, opts);
        o.WriteLine($"model: {graph.Name}, {graph.ParameterCount:N0} parameters, planned activation memory {trainer.Executor.PeakActivationBytes / 1024.0:F0} KiB " +
                    $"(without reuse {trainer.Executor.UnplannedActivationBytes / 1024.0:F0} KiB)");
        var results = trainer.Fit(train, test, new ProgressPrinter(o), r =>
            o.WriteLine($"epoch {r.Epoch}/{opts.Epochs}: train loss {r.TrainLoss:F4} acc {r.TrainAccuracy * 100:F2}% | " +
                        $"test loss {r.TestLoss:F4} acc {r.TestAccuracy * 100:F2}% | {r.ImagesPerSecond:F0} img/s, {r.Seconds:F1} s, lr {r.LearningRate:G3}"));
        double seconds = total.Elapsed.TotalSeconds;
        var last = results[^1];
        double trainSecs = results.Sum(r => r.Seconds);
        double imgs = results.Sum(r => r.ImagesPerSecond * r.Seconds) / Math.Max(1e-9, trainSecs);
        o.WriteLine($"final test accuracy {last.TestAccuracy * 100:F2}% on {test.Count} images; {imgs:F0} img/s; {seconds:F1} s in all");
        if (save is not null)
        {
            Checkpoint.Save(save, trainer.Executor.Parameters, trainer.Optimizer, trainer.EpochsDone,
                new Dictionary<string, string> { ["seed"] = opts.Seed.ToString(CultureInfo.InvariantCulture), ["mean"] = opts.Mean.ToString("R", CultureInfo.InvariantCulture), ["std"] = opts.Std.ToString("R", CultureInfo.InvariantCulture) });
            o.WriteLine($"saved checkpoint to {save}");
        }
        if (metrics is not null)
            WriteJson(metrics, new Dictionary<string, object?>
            {
                ["model"] = graph.Name, ["device"] = device.Id, ["device_name"] = device.Name, ["epochs"] = results.Count,
                ["batch_size"] = opts.BatchSize, ["learning_rate"] = opts.LearningRate, ["seed"] = opts.Seed,
                ["train_images"] = train.Count, ["test_images"] = test.Count, ["parameters"] = graph.ParameterCount,
                ["train_loss"] = last.TrainLoss, ["train_accuracy"] = last.TrainAccuracy, ["test_loss"] = last.TestLoss,
                ["test_accuracy"] = last.TestAccuracy, ["images_per_second"] = imgs, ["seconds"] = seconds,
                ["steps"] = results.Sum(r => r.Steps), ["peak_activation_bytes"] = trainer.Executor.PeakActivationBytes,
                ["per_epoch"] = results.Select(r => new Dictionary<string, object?>
                {
                    ["epoch"] = r.Epoch, ["train_loss"] = r.TrainLoss, ["train_accuracy"] = r.TrainAccuracy, ["test_loss"] = r.TestLoss,
                    ["test_accuracy"] = r.TestAccuracy, ["images_per_second"] = r.ImagesPerSecond, ["seconds"] = r.Seconds, ["learning_rate"] = r.LearningRate,
                }).ToList(),
            });
        return 0;
    }

    static int Eval(Arguments a, TextWriter o)
    {
        string model = ModelName(a, "eval");
        string load = a.String("load") ?? throw new UsageException("eval needs --load FILE (a checkpoint from 'gpucnn train --save')");
        int batch = a.Int("batch-size", 250, 1);
        string? deviceSpec = a.String("device"), dataDir = a.String("data"), metrics = a.String("metrics");
        a.RejectUnknown("eval");
        var graph = ModelZoo.Create(model);
        var header = Checkpoint.ReadHeader(load);
        var (_, test) = LoadData(dataDir);
        using var device = DeviceManager.Open(deviceSpec);
        using var ex = new Executor(graph, device, batch, new ExecutorOptions { Training = false });
        Checkpoint.Load(load, ex.Parameters);
        float mean = header.Extra.TryGetValue("mean", out var m) ? float.Parse(m, CultureInfo.InvariantCulture) : new TrainOptions().Mean;
        float std = header.Extra.TryGetValue("std", out var s) ? float.Parse(s, CultureInfo.InvariantCulture) : new TrainOptions().Std;
        var sw = Stopwatch.StartNew();
        var (loss, acc) = Trainer.Evaluate(ex, test, mean, std);
        double secs = sw.Elapsed.TotalSeconds;
        o.WriteLine($"device: {device}");
        o.WriteLine($"{graph.Name} from {load} (epoch {header.Epoch}): test loss {loss:F4}, accuracy {acc * 100:F2}% on {test.Count} images, {test.Count / secs:F0} img/s");
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
        string? deviceSpec = a.String("device"), metrics = a.String("metrics");
        bool profile = a.Has("profile");
        a.RejectUnknown("bench");
        var graph = ModelZoo.Create(model);
        var (train, _) = Mnist.LoadBundled();
        using var device = DeviceManager.Open(deviceSpec);
        var opts = new TrainOptions { BatchSize = batch };
        using var trainer = new Trainer(graph, device, opts);
        var ex = trainer.Executor;
        // Real digits, one fixed batch: the benchmark times the training step, not the loader.
        var x = new float[batch * train.SampleSize];
        var y = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            int k = i % train.Count;
            for (int j = 0; j < train.SampleSize; j++) x[i * train.SampleSize + j] = (train.Images[k * train.SampleSize + j] - opts.Mean) / opts.Std;
            y[i] = train.Labels[k];
        }
        ex.SetInput(x);
        ex.SetLabels(y);
        void Step()
        {
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
            trainer.Optimizer.Step();
        }
        for (int i = 0; i < warmup; i++) Step();
        ex.Synchronize();
        ex.ReadStatistics();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) Step();
        ex.Synchronize();
        double secs = sw.Elapsed.TotalSeconds;
        var (l, _, n) = ex.ReadStatistics();
        double ips = batch * steps / secs;
        o.WriteLine($"device: {device}");
        o.WriteLine($"{graph.Name} training, batch {batch}: {steps} steps in {secs:F3} s = {secs / steps * 1000:F3} ms/step, {ips:F0} img/s (final mean loss {l / Math.Max(1, n):F4})");
        if (profile)
        {
            o.WriteLine("per-step profile (synchronised after each kernel group, so the sum exceeds a normal step):");
            foreach (var (name, ms) in ex.Profile()) o.WriteLine($"  {name,-32} {ms,9:F3} ms");
        }
        if (metrics is not null)
            WriteJson(metrics, new Dictionary<string, object?>
            {
                ["model"] = graph.Name, ["device"] = device.Id, ["device_name"] = device.Name, ["batch_size"] = batch,
                ["steps"] = steps, ["warmup"] = warmup, ["seconds"] = secs, ["ms_per_step"] = secs / steps * 1000, ["images_per_second"] = ips,
            });
        return 0;
    }

    static int Summary(Arguments a, TextWriter o)
    {
        string model = ModelName(a, "summary");
        a.RejectUnknown("summary");
        var graph = ModelZoo.Create(model);
        o.WriteLine(ModelSummary.Format(graph));
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

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Serialization.Onnx;
using GpuCnn.Training;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>gpucnn train MODEL|--onnx FILE</c>: trains on a data preset or an image folder, with progress, curves and a
/// checkpoint; an ONNX model starts from its own weights.
/// </summary>
static class TrainCommand
{
    public static Command Create(TextWriter o)
    {
        var model = Opt.ModelArgument();
        var epochs = Opt.Int("epochs", "passes over the training set (default 10)", 1);
        var batch = Opt.Int("batch-size", "images per step (default 64)", 1, "B");
        var lr = Opt.Float("lr", "learning rate (default: by model, scaled with the batch size)", 0);
        var momentum = Opt.Float("momentum", "SGD momentum (default 0.9)", 0, "M");
        var decay = Opt.Float("weight-decay", "L2 weight decay (default 5e-4)", 0, "W");
        var seed = Opt.Int("seed", "seed of initialisation, shuffling, augmentation and synthetic data (default 1)", helpName: "S");
        var lrStep = Opt.Int("lr-step", "epochs between learning-rate steps (default 4)", 0);
        var lrGamma = Opt.Float("lr-gamma", "factor of each learning-rate step (default 0.3)", 0, "G");
        var schedule = Opt.Text("schedule", "constant, step:N[:gamma], multistep:a,b,...[:gamma], cosine[:etaMin], each optionally after warmup:N+ (default step:4:0.3)", "SPEC");
        var optimizer = Opt.Text("optimizer", "sgd (default), adam or adamw", "sgd|adam|adamw");
        var nesterov = Opt.Flag("nesterov", "Nesterov momentum");
        var noDecayBias = Opt.Flag("no-decay-bias", "no weight decay on biases and normalisation weights");
        var steps = Opt.Int("steps", "stop after N optimiser steps and record the loss of every step", 0);
        var limit = Opt.Int("train-limit", "train on the first N images only", 0);
        var noFuse = Opt.Flag("no-fuse", "keep every activation a separate kernel");
        var cudaGraph = Opt.Flag("cuda-graph", "replay each training step as one captured CUDA graph (CUDA, one device, SGD, no dropout)");
        var metrics = Opt.Text("metrics", "write the run's results as JSON", "FILE.json");
        var save = Opt.Text("save", "save a checkpoint (weights, optimiser state, normalisation, class names)", "FILE");
        var initFrom = Opt.Text("init-from", "start from the weights of a safetensors file (a state dict with the model's keys)", "FILE.safetensors");
        var onnxOpt = Opt.Onnx();
        var data = new DataOptions();
        var dev = new DeviceOptions();
        var curves = new CurveOptions();
        var learn = new LearnOptions();
        var c = new Command("train", "Train a model and report per-epoch loss and held-out accuracy.")
        {
            model, onnxOpt, epochs, batch, lr, momentum, decay, seed, lrStep, lrGamma, schedule, optimizer, nesterov, noDecayBias, steps, limit,
        };
        data.AddTo(c);
        dev.AddTo(c);
        c.Add(noFuse);
        c.Add(cudaGraph);
        c.Add(metrics);
        c.Add(save);
        c.Add(initFrom);
        curves.AddTo(c);
        learn.AddTo(c);
        c.SetAction(p =>
        {
            var (name, onnx) = Opt.ModelOrOnnx(p, model, onnxOpt, "train");
            if (onnx is not null && p.GetValue(initFrom) is not null)
                throw new UsageException("--onnx and --init-from both give the starting weights; pass one");
            var defaults = new TrainOptions();
            int s = p.GetValue(seed) ?? 1, b = p.GetValue(batch) ?? 64;
            var recipe = name is null ? new Recipe(p.GetValue(optimizer) ?? "sgd", 0.01f * b / 128) : ModelZoo.DefaultRecipe(name, b, p.GetValue(optimizer));
            var opts = new TrainOptions
            {
                Epochs = p.GetValue(epochs) ?? 10,
                BatchSize = b,
                LearningRate = p.GetValue(lr) ?? recipe.LearningRate,
                Momentum = p.GetValue(momentum) ?? defaults.Momentum,
                WeightDecay = p.GetValue(decay) ?? defaults.WeightDecay,
                Seed = s,
                LrStepEpochs = p.GetValue(lrStep) ?? defaults.LrStepEpochs,
                LrGamma = p.GetValue(lrGamma) ?? defaults.LrGamma,
                MaxSteps = p.GetValue(steps) ?? 0,
                Optimizer = recipe.Optimizer,
                Nesterov = p.GetValue(nesterov),
                DecayBiases = !p.GetValue(noDecayBias),
                Schedule = p.GetValue(schedule),
                FuseActivations = !p.GetValue(noFuse),
                CudaGraphs = p.GetValue(cudaGraph),
                InitFrom = p.GetValue(initFrom),
            };
            var request = data.Request(p, name ?? "", s, o);
            var sel = onnx is null ? DataPresets.Load(request) : Opt.DataFor(onnx, p.GetValue(onnxOpt)!, request);
            opts = opts with { Mean = sel.Mean, Std = sel.Std, TrainTransform = sel.TrainTransform, EvalTransform = sel.EvalTransform };
            var graph = onnx?.Graph ?? learn.Create(p, name!, sel.Classes, sel.ImageSize, sel.Channels);
            var devices = dev.Open(p, graph);
            try
            {
                Run(o, p, opts, sel, graph, devices, p.GetValue(limit) ?? 0, p.GetValue(metrics), p.GetValue(save), data.Name(p), curves, onnx, learn.Open(p, o));
            }
            finally
            {
                foreach (var d in devices) d.Dispose();
            }
            return 0;
        });
        return c;
    }

    static void Run(TextWriter o, ParseResult p, TrainOptions opts, DataSelection data, Graphs.Graph graph, List<ComputeDevice> devices,
        int limit, string? metrics, string? save, string dataName, CurveOptions curves, OnnxModel? onnx = null, TrainingDiagnostics? diagnostics = null)
    {
        var (train, test) = (data.Train, data.Test);
        if (limit > 0 && limit < train.Count) train = train.Subset(0, limit);
        o.WriteLine($"device{(devices.Count > 1 ? "s" : "")}: {string.Join(", ", devices)}");
        o.WriteLine($"data: {train.Count} training and {test.Count} test images ({data.Description})");
        var total = Stopwatch.StartNew();
        using var trainer = new Trainer(graph, devices, opts) { RecordLosses = opts.MaxSteps > 0, Diagnostics = diagnostics };
        var ex = trainer.Executor;
        onnx?.CopyTo(ex.Parameters); // an imported model starts from its own weights, not the seeded initialisation
        o.WriteLine($"model: {graph.Name}, {graph.ParameterCount:N0} parameters, planned activation memory {ex.PeakActivationBytes / 1024.0:F0} KiB " +
                    $"(without reuse {ex.UnplannedActivationBytes / 1024.0:F0} KiB)");
        foreach (var d in devices.Where(d => d.Gemm.Preference != GemmFamily.Auto)) o.WriteLine(DeviceOptions.GemmLine(d));
        if (opts.CudaGraphs && trainer.CudaGraphProblem is { } noGraph) o.WriteLine($"cuda graph: not used ({noGraph})");
        long crossing = ex.Transfers.Sum(t => t.Bytes);
        if (devices.Count > 1) o.WriteLine($"placement: {ex.Transfers.Count} transfers, {crossing:N0} bytes cross devices per step");
        int lastEpoch = trainer.LastEpoch(train.Count);
        using var sinks = curves.Open(p, trainer);
        var results = LiveProgress.Fit(o, trainer, train, test, lastEpoch, sinks.OnEpoch);
        double seconds = total.Elapsed.TotalSeconds;
        var last = results[^1];
        double trainSecs = results.Sum(r => r.Seconds);
        double imgs = results.Sum(r => r.ImagesPerSecond * r.Seconds) / Math.Max(1e-9, trainSecs);
        if (trainer.RecordLosses)
            o.WriteLine($"losses per step: {string.Join(" ", trainer.Losses.Select(l => l.ToString("F4", CultureInfo.InvariantCulture)))}");
        o.WriteLine($"final test accuracy {last.TestAccuracy * 100:F2}% on {test.Count} images; {ProgressPrinter.FormatRate(imgs)} img/s; {seconds:F1} s in all");
        foreach (var line in sinks.Written) o.WriteLine(line);
        if (save is not null)
        {
            var extra = new Dictionary<string, string>
            {
                ["seed"] = opts.Seed.ToString(CultureInfo.InvariantCulture),
                ["mean"] = opts.Mean.ToString("R", CultureInfo.InvariantCulture),
                ["std"] = opts.Std.ToString("R", CultureInfo.InvariantCulture),
                ["data"] = dataName,
            };
            foreach (var (k, v) in data.Extra ?? new Dictionary<string, string>()) extra[k] = v;
            if (data.ClassNames is { } names) CheckpointFacts.SetClassNames(extra, names);
            Checkpoint.Save(save, ex.Parameters, trainer.Optimizer, trainer.EpochsDone, extra);
            o.WriteLine($"saved checkpoint to {save}");
        }
        if (metrics is not null)
            CommandLine.WriteJson(metrics, new Dictionary<string, object?>
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
                ["diagnostics"] = diagnostics?.ToJson(),
                ["per_epoch"] = results.Select(r => new Dictionary<string, object?>
                {
                    ["epoch"] = r.Epoch, ["train_loss"] = r.TrainLoss, ["train_accuracy"] = r.TrainAccuracy, ["test_loss"] = r.TestLoss,
                    ["test_accuracy"] = r.TestAccuracy, ["images_per_second"] = r.ImagesPerSecond, ["seconds"] = r.Seconds, ["learning_rate"] = r.LearningRate,
                }).ToList(),
            });
    }
}

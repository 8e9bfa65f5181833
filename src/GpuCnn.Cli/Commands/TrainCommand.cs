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
    public static Command Create(TextWriter stdout)
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
        var clip = Opt.Float("clip-grad-norm", "clip the gradients to this global L2 norm before each update (as PyTorch's clip_grad_norm_)", 0);
        var noFuse = Opt.Flag("no-fuse", "keep every activation a separate kernel");
        var cudaGraph = Opt.Flag("cuda-graph", "replay each training step as one captured CUDA graph (CUDA, one device, SGD, no dropout)");
        var metrics = OutputPath.Option("metrics", "write the run's results as JSON", "FILE.json");
        var ck = new CheckpointOptions();
        var initFrom = Opt.Text("init-from", "start from the weights of a safetensors file (a state dict with the model's keys)", "FILE.safetensors");
        var onnxOpt = Opt.Onnx();
        var data = new DataOptions();
        var dev = new DeviceOptions();
        var curves = new CurveOptions();
        var dist = new DistributedOptions();
        var learn = new LearnOptions();
        var c = new Command("train", "Train a model and report per-epoch loss and held-out accuracy.")
        {
            model, onnxOpt, epochs, batch, lr, momentum, decay, seed, lrStep, lrGamma, schedule, optimizer, nesterov, noDecayBias, steps, limit, clip,
        };
        data.AddTo(c);
        dev.AddTo(c);
        c.Add(noFuse);
        c.Add(cudaGraph);
        c.Add(metrics);
        ck.AddTo(c);
        c.Add(initFrom);
        curves.AddTo(c);
        dist.AddTo(c);
        learn.AddTo(c);
        c.SetAction(p => DistributedOptions.Run(stdout, (comm, o) =>
        {
            var (name, onnx) = Opt.ModelOrOnnx(p, model, onnxOpt, "train");
            if (onnx is not null && p.GetValue(initFrom) is not null)
                throw new UsageException("--onnx and --init-from both give the starting weights; pass one");
            var defaults = new TrainOptions();
            int s = p.GetValue(seed) ?? 1, b = p.GetValue(batch) ?? 64;
            int global = b * (p.GetValue(dist.GradAccum) ?? 1) * comm.Size; // the default rate follows the images per step
            var recipe = name is null ? new Recipe(p.GetValue(optimizer) ?? "sgd", 0.01f * global / 128) : ModelZoo.DefaultRecipe(name, global, p.GetValue(optimizer));
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
                OnNonFinite = ck.Policy(p),
                ClipGradNorm = p.GetValue(clip) ?? 0,
                GradAccum = p.GetValue(dist.GradAccum) ?? 1,
                Communicator = comm,
            };
            if (p.GetValue(ck.Resume) is not null && p.GetValue(initFrom) is not null)
                throw new UsageException("--resume and --init-from both give the starting weights; pass one");
            var request = data.Request(p, name ?? "", s, o);
            var sel = onnx is null ? DataPresets.Load(request) : Opt.DataFor(onnx, p.GetValue(onnxOpt)!, request);
            opts = opts with { Mean = sel.Mean, Std = sel.Std, TrainTransform = sel.TrainTransform, EvalTransform = sel.EvalTransform };
            var graph = onnx?.Graph ?? learn.Create(p, name!, sel.Classes, sel.ImageSize, sel.Channels);
            int limitN = p.GetValue(limit) ?? 0, images = limitN > 0 ? Math.Min(limitN, sel.Train.Count) : sel.Train.Count;
            if (images < opts.BatchSize) // the loader drops the last partial batch: no step would run
                throw new UsageException($"--batch-size {opts.BatchSize} is more than the {images} training images{(limitN > 0 ? " of --train-limit" : "")}: " +
                                         $"no full batch to train on; use a batch size of at most {images}");
            var devices = dev.Open(p, graph, DistributedOptions.DefaultDevice(comm));
            try
            {
                Run(o, p, opts, sel, graph, devices, limitN, p.GetValue(metrics), ck, data.Name(p), curves, onnx, learn.Open(p, o));
            }
            finally
            {
                foreach (var d in devices) d.Dispose();
            }
            return 0;
        }));
        return c;
    }

    static void Run(TextWriter o, ParseResult p, TrainOptions opts, DataSelection data, Graphs.Graph graph, List<ComputeDevice> devices,
        int limit, string? metrics, CheckpointOptions ck, string dataName, CurveOptions curves, OnnxModel? onnx = null, TrainingDiagnostics? diagnostics = null)
    {
        var (train, test) = (data.Train, data.Test);
        if (limit > 0 && limit < train.Count) train = train.Subset(0, limit);
        o.WriteLine($"device{(devices.Count > 1 ? "s" : "")}: {string.Join(", ", devices)}");
        o.WriteLine($"data: {train.Count} training and {test.Count} test images ({data.Description})");
        var total = Stopwatch.StartNew();
        using var trainer = new Trainer(graph, devices, opts) { RecordLosses = opts.MaxSteps > 0, Diagnostics = diagnostics };
        if (diagnostics is not null && trainer.Parallel is not null)
            throw new UsageException("--diagnostics observes single steps on one process; it does not combine with data parallelism or --grad-accum");
        var ex = trainer.Executor;
        onnx?.CopyTo(ex.Parameters); // an imported model starts from its own weights, not the seeded initialisation
        o.WriteLine($"model: {graph.Name}, {graph.ParameterCount:N0} parameters, planned activation memory {ex.PeakActivationBytes / 1024.0:F0} KiB " +
                    $"(without reuse {ex.UnplannedActivationBytes / 1024.0:F0} KiB)");
        foreach (var d in devices.Where(d => d.Gemm.Preference != GemmFamily.Auto)) o.WriteLine(DeviceOptions.GemmLine(d));
        if (opts.CudaGraphs && trainer.CudaGraphProblem is { } noGraph) o.WriteLine($"cuda graph: not used ({noGraph})");
        long crossing = ex.Transfers.Sum(t => t.Bytes);
        if (devices.Count > 1) o.WriteLine($"placement: {ex.Transfers.Count} transfers, {crossing:N0} bytes cross devices per step");
        if (DistributedOptions.Describe(trainer) is { } ranks) o.WriteLine(ranks);
        bool lead = (trainer.Parallel?.Communicator.Rank ?? 0) == 0; // only rank 0 writes files
        var extra = new Dictionary<string, string>
        {
            ["seed"] = opts.Seed.ToString(CultureInfo.InvariantCulture),
            ["mean"] = opts.Mean.ToString("R", CultureInfo.InvariantCulture),
            ["std"] = opts.Std.ToString("R", CultureInfo.InvariantCulture),
            ["data"] = dataName,
        };
        foreach (var (k, v) in data.Extra ?? new Dictionary<string, string>()) extra[k] = v;
        if (data.ClassNames is { } names) CheckpointFacts.SetClassNames(extra, names);
        trainer.Checkpoints = ck.Create(p, extra);
        if (trainer.Checkpoints is { } writer) writer.Writes = lead; // every rank takes part in the statistics a checkpoint reads
        if (p.GetValue(ck.Resume) is { } resume) Resume(o, trainer, resume, train.Count);
        int lastEpoch = trainer.LastEpoch(train.Count);
        using var sinks = lead ? curves.Open(p, trainer) : new CurveSinks(trainer, null, null, null);
        var fitted = LiveProgress.Fit(o, trainer, train, test, lastEpoch, sinks.OnEpoch);
        if (fitted.Sum(r => r.Steps) == 0)
            throw new InvalidOperationException($"nothing to train: the run already stands at step {trainer.TotalSteps} of epoch {trainer.EpochsDone} " +
                                                "(raise --epochs or --steps to continue)");
        var results = trainer.History.Concat(fitted.Where(r => !trainer.History.Contains(r))).ToList();
        double seconds = total.Elapsed.TotalSeconds;
        var last = results[^1];
        double trainSecs = results.Sum(r => r.Seconds);
        double imgs = results.Sum(r => r.ImagesPerSecond * r.Seconds) / Math.Max(1e-9, trainSecs);
        if (trainer.RecordLosses)
            o.WriteLine($"losses per step: {string.Join(" ", trainer.Losses.Select(l => l.ToString("F4", CultureInfo.InvariantCulture)))}");
        o.WriteLine($"final test accuracy {last.TestAccuracy * 100:F2}% on {test.Count} images; {ProgressPrinter.FormatRate(imgs)} img/s; {seconds:F1} s in all");
        if (DistributedOptions.Timing(trainer) is { } timing) o.WriteLine(timing);
        foreach (var line in sinks.Written) o.WriteLine(line);
        foreach (var line in trainer.Guard.Events) o.WriteLine($"non-finite: {line}");
        if (trainer.Checkpoints is { } policy && lead) o.WriteLine($"saved checkpoint to {policy.Path}");
        if (metrics is not null && lead)
            CommandLine.WriteJson(metrics, new Dictionary<string, object?>
            {
                ["model"] = graph.Name, ["device"] = string.Join(",", devices.Select(d => d.Id)),
                ["device_name"] = string.Join(", ", devices.Select(d => d.Name)), ["devices"] = devices.Count,
                ["epochs"] = results.Count, ["batch_size"] = opts.BatchSize, ["learning_rate"] = opts.LearningRate, ["seed"] = opts.Seed,
                ["data"] = data.Description, ["train_images"] = train.Count, ["test_images"] = test.Count, ["parameters"] = graph.ParameterCount,
                ["train_loss"] = last.TrainLoss, ["train_accuracy"] = last.TrainAccuracy, ["test_loss"] = last.TestLoss,
                ["test_accuracy"] = last.TestAccuracy, ["images_per_second"] = imgs, ["seconds"] = seconds,
                ["steps"] = trainer.TotalSteps, ["skipped_steps"] = trainer.SkippedSteps, ["peak_activation_bytes"] = ex.PeakActivationBytes,
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

    static void Resume(TextWriter o, Trainer trainer, string file, int trainCount)
    {
        var header = Checkpoint.Load(file, trainer.Executor.Parameters, trainer.Optimizer);
        if (header.Training is not { } state)
            throw new DataFormatException(file, "holds no training state (not written by 'gpucnn train --save'); start from its weights with --init-from after 'gpucnn export'");
        if (header.Optimizer is null)
            throw new DataFormatException(file, "holds no optimiser state, so the run cannot continue exactly");
        trainer.Restore(state, trainer.StepsPerEpoch(trainCount));
        o.WriteLine($"resumed from {file}: epoch {state.Epoch + 1}, batch {state.StepInEpoch}, step {state.TotalSteps}");
    }
}

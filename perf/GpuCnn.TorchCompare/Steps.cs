using System.Diagnostics;
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Models;
using GpuCnn.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GpuCnn.TorchCompare;

/// <summary>
/// GpuCnn training steps on one fixed batch (as <c>gpucnn bench</c>): SGD with momentum 0.9 and weight decay 5e-4,
/// softmax cross-entropy, activations fused as by default.
/// </summary>
sealed class GpuStep : ISide
{
    readonly ComputeDevice dev;
    readonly Trainer trainer;
    readonly int batch, steps;

    public GpuStep(ComputeDevice dev, string model, int batch, int size, int channels, int classes, int steps)
    {
        this.dev = dev; this.batch = batch; this.steps = steps;
        var graph = ModelZoo.Create(model, classes, size, channels);
        Parameters = graph.ParameterCount;
        trainer = new Trainer(graph, dev, new TrainOptions { BatchSize = batch });
        var data = SyntheticData.Create(batch, channels, size, size, classes, 1);
        trainer.Executor.SetInput(data.Images);
        trainer.Executor.SetLabels(data.Labels);
    }

    public long Parameters { get; }

    public void Check()
    {
        trainer.Executor.ReadStatistics();
        trainer.RunStep();
        var (l, _, n) = trainer.Executor.ReadStatistics();
        if (!double.IsFinite(l / n)) throw new InvalidOperationException($"GpuCnn: loss {l / n} after one step");
    }

    public double Measure()
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) trainer.RunStep();
        dev.Synchronize();
        return (double)batch * steps / sw.Elapsed.TotalSeconds;
    }

    public void Dispose() => trainer.Dispose();
}

/// <summary>The same step in TorchSharp: zero_grad, forward, cross-entropy, backward, SGD step.</summary>
sealed class TorchStep : ISide
{
    readonly Module<Tensor, Tensor> model;
    readonly optim.Optimizer opt;
    readonly Tensor x, y;
    readonly int batch, steps;

    public TorchStep(Module<Tensor, Tensor> model, int batch, int size, int channels, int classes, int steps)
    {
        this.model = model; this.batch = batch; this.steps = steps;
        manual_seed(1);
        model.train();
        Parameters = model.parameters().Sum(p => p.numel());
        opt = optim.SGD(model.parameters(), 0.01, momentum: 0.9, weight_decay: 5e-4);
        var data = SyntheticData.Create(batch, channels, size, size, classes, 1);
        x = tensor(data.Images, new long[] { batch, channels, size, size });
        y = tensor(data.Labels.Select(l => (long)l).ToArray(), new long[] { batch });
    }

    public long Parameters { get; }

    float Step()
    {
        using var scope = NewDisposeScope();
        opt.zero_grad();
        var loss = functional.cross_entropy(model.call(x), y);
        loss.backward();
        opt.step();
        return loss.item<float>();
    }

    public void Check()
    {
        float l = Step();
        if (!float.IsFinite(l)) throw new InvalidOperationException($"TorchSharp: loss {l} after one step");
    }

    public double Measure()
    {
        var sw = Stopwatch.StartNew();
        // item() in Step synchronises nothing on the CPU; the loop is the work.
        for (int i = 0; i < steps; i++) Step();
        return (double)batch * steps / sw.Elapsed.TotalSeconds;
    }

    public void Dispose() { opt.Dispose(); model.Dispose(); x.Dispose(); y.Dispose(); }
}

/// <summary>One GpuCnn epoch over the 8,000 bundled digits at batch 64 (loader included, evaluation excluded).</summary>
sealed class GpuEpoch : ISide
{
    readonly Trainer trainer;
    readonly DataLoader loader;
    int epoch;

    public GpuEpoch(ComputeDevice dev)
    {
        var (train, _) = Mnist.LoadBundled();
        var opts = new TrainOptions { BatchSize = 64 };
        var graph = ModelZoo.Create("lenet5");
        Parameters = graph.ParameterCount;
        trainer = new Trainer(graph, dev, opts);
        loader = new DataLoader(train, 64, shuffle: true, seed: 1, dropLast: true, mean: opts.Mean, std: opts.Std);
    }

    public long Parameters { get; }

    public void Check()
    {
        var r = trainer.TrainEpoch(loader, epoch++);
        if (r.Steps != 125 || !double.IsFinite(r.TrainLoss)) throw new InvalidOperationException($"GpuCnn epoch: {r.Steps} steps, loss {r.TrainLoss}");
    }

    public double Measure()
    {
        var sw = Stopwatch.StartNew();
        trainer.TrainEpoch(loader, epoch++);
        return 1 / sw.Elapsed.TotalSeconds;
    }

    public void Dispose() { loader.Dispose(); trainer.Dispose(); }
}

/// <summary>The same epoch in TorchSharp: a seeded permutation per epoch, 125 batches of 64 gathered from one tensor.</summary>
sealed class TorchEpoch : ISide
{
    readonly Module<Tensor, Tensor> model = TorchModels.LeNet5();
    readonly optim.Optimizer opt;
    readonly Tensor images, labels;
    readonly Generator gen = new Generator(1);

    public TorchEpoch()
    {
        manual_seed(1);
        model.train();
        Parameters = model.parameters().Sum(p => p.numel());
        opt = optim.SGD(model.parameters(), 0.01, momentum: 0.9, weight_decay: 5e-4);
        var (train, _) = Mnist.LoadBundled();
        var x = train.Images.Select(v => (v - 0.1307f) / 0.3081f).ToArray();
        images = tensor(x, new long[] { train.Count, 1, 28, 28 });
        labels = tensor(train.Labels.Select(l => (long)l).ToArray(), new long[] { train.Count });
    }

    public long Parameters { get; }

    double Epoch()
    {
        double last = 0;
        using var perm = randperm(images.shape[0], generator: gen);
        for (int s = 0; s < 125; s++)
        {
            using var scope = NewDisposeScope();
            var idx = perm.narrow(0, s * 64, 64);
            opt.zero_grad();
            var loss = functional.cross_entropy(model.call(images.index_select(0, idx)), labels.index_select(0, idx));
            loss.backward();
            opt.step();
            if (s == 124) last = loss.item<float>();
        }
        return last;
    }

    public void Check()
    {
        double l = Epoch();
        if (!double.IsFinite(l)) throw new InvalidOperationException($"TorchSharp epoch: loss {l}");
    }

    public double Measure()
    {
        var sw = Stopwatch.StartNew();
        Epoch();
        return 1 / sw.Elapsed.TotalSeconds;
    }

    public void Dispose() { opt.Dispose(); model.Dispose(); images.Dispose(); labels.Dispose(); gen.Dispose(); }
}

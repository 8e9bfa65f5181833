using System.Diagnostics;
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Optimizers;

namespace GpuCnn.Training;

/// <summary>
/// Trains a classification graph with the executor's loss (softmax cross-entropy) and the optimiser that
/// <see cref="TrainOptions"/> names (SGD with momentum, Adam or AdamW): batches come from a prefetching
/// <see cref="DataLoader"/>, the loss statistics stay on the device and are read only when progress is reported,
/// and the learning rate follows the options' schedule (<see cref="ILearningRateSchedule"/>: constant, step,
/// multi-step or cosine, with optional warm-up).
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly ILearningRateSchedule schedule;
    long totalSteps;

    /// <summary>Creates the executor, parameters (initialised from the seed) and optimiser.</summary>
    public Trainer(Graph graph, IReadOnlyList<ComputeDevice> devices, TrainOptions options)
    {
        Options = options;
        Graph = graph;
        // The executor's store initialises the parameters from options.Seed on creation.
        Executor = new Executor(graph, devices, options.BatchSize, new ExecutorOptions { Seed = options.Seed, FuseActivations = options.FuseActivations });
        if (options.InitFrom is { } init)
        {
            try { Serialization.Safetensors.Load(init).LoadInto(Executor.Parameters, strict: true); }
            catch (Serialization.StateDictException e) { Executor.Dispose(); throw new ArgumentException($"{init}: {e.Message}", e); }
            catch { Executor.Dispose(); throw; }
        }
        Optimizer = OptimizerFactory.Create(options.Optimizer, Executor.Parameters, options.LearningRate, options.Momentum,
            options.WeightDecay, options.Nesterov, options.DecayBiases);
        schedule = options.Schedule is not null ? Schedules.Parse(options.Schedule, options.Epochs)
            : options.LrStepEpochs > 0 ? new StepLR(options.LrStepEpochs, options.LrGamma) : new ConstantLR();
        compute = Compute;
        replayed = Replayed;
        if (options.CudaGraphs)
        {
            CudaGraphProblem =
                devices.Count != 1 ? "CUDA graphs capture one device's stream; this model spans several devices"
                : Optimizer.VariesPerStep ? $"{Optimizer.Name} passes per-step values to its kernels"
                : graph.Layers.FirstOrDefault(l => l.UsesStepRandomness) is { } r ? $"{r.TypeName} '{r.Name}' draws new random numbers every step"
                : null;
            if (CudaGraphProblem is null)
            {
                stepGraph = CudaStepGraph.TryCreate(devices[0], out var why);
                CudaGraphProblem = why;
            }
        }
    }

    readonly Action compute, replayed;
    readonly CudaStepGraph? stepGraph;
    string? cudaGraphProblem;

    /// <summary>Why training steps are not replayed as CUDA graphs although <see cref="TrainOptions.CudaGraphs"/> asked for it.</summary>
    public string? CudaGraphProblem
    {
        get => stepGraph?.Problem ?? cudaGraphProblem;
        private set => cudaGraphProblem = value;
    }

    /// <summary>Steps replayed from a captured CUDA graph so far.</summary>
    public long CudaGraphReplays => stepGraph?.Replays ?? 0;

    void Compute()
    {
        Executor.Forward();
        Executor.ComputeLoss();
        Executor.Backward();
        Optimizer.Step();
    }

    void Replayed()
    {
        Executor.NoteReplayedForward();
        Optimizer.NoteReplayedStep();
    }

    /// <summary>
    /// One optimiser step on the batch already uploaded (SetInput, SetLabels): forward, loss, backward, update. With
    /// <see cref="TrainOptions.CudaGraphs"/> it replays a captured graph where it can.
    /// </summary>
    public void RunStep()
    {
        if (stepGraph is null) compute();
        else stepGraph.Run(compute, replayed, Optimizer.LearningRate, Executor.ValidLabels, Executor.TrainingMode);
    }

    /// <summary>Creates a trainer on one device.</summary>
    public Trainer(Graph graph, ComputeDevice device, TrainOptions options) : this(graph, new[] { device }, options) { }

    /// <summary>The options.</summary>
    public TrainOptions Options { get; }
    /// <summary>The model.</summary>
    public Graph Graph { get; }
    /// <summary>The executor (its plan, parameters, statistics).</summary>
    public Executor Executor { get; }
    /// <summary>The optimiser.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>Epochs completed (restored from a checkpoint too).</summary>
    public int EpochsDone { get; set; }
    /// <summary>Per-step training losses, when <see cref="RecordLosses"/> is set.</summary>
    public List<double> Losses { get; } = new();
    /// <summary>Read the loss after every step (synchronises every step; for short diagnostic runs).</summary>
    public bool RecordLosses { get; set; }

    /// <summary>Per-layer statistics every few steps (<see cref="TrainingDiagnostics"/>); null for none.</summary>
    public TrainingDiagnostics? Diagnostics { get; set; }

    /// <summary>How often (in steps) progress is read back from the device.</summary>
    public int ProgressInterval { get; set; } = 25;

    /// <summary>
    /// The number of the last epoch that <see cref="Fit"/> would run over <paramref name="trainCount"/> images:
    /// <see cref="TrainOptions.Epochs"/>, or the epoch in which <see cref="TrainOptions.MaxSteps"/> runs out.
    /// </summary>
    public int LastEpoch(int trainCount) =>
        LastEpoch(EpochsDone, trainCount / Options.BatchSize); // the loader drops the last partial batch

    // The last epoch when the next one to run is `next` (zero-based) and an epoch has `perEpoch` steps.
    int LastEpoch(int next, int perEpoch)
    {
        if (Options.MaxSteps <= 0 || perEpoch <= 0) return Options.Epochs;
        long left = Math.Max(0, Options.MaxSteps - totalSteps);
        return (int)Math.Min(Options.Epochs, next + Math.Max(1, (left + perEpoch - 1) / perEpoch));
    }

    /// <summary>Trains for <see cref="TrainOptions.Epochs"/> epochs, evaluating on <paramref name="test"/> after each.</summary>
    public List<EpochResult> Fit(Dataset train, Dataset? test, IProgress<TrainProgress>? progress = null, Action<EpochResult>? onEpoch = null)
    {
        var results = new List<EpochResult>();
        using var loader = Options.TrainTransform is null
            ? new DataLoader(train, Options.BatchSize, shuffle: true, seed: Options.Seed, dropLast: true, mean: Options.Mean, std: Options.Std)
            : new DataLoader(train, Options.BatchSize, shuffle: true, seed: Options.Seed, dropLast: true, Options.TrainTransform,
                workers: Options.LoaderWorkers);
        for (int e = EpochsDone; e < Options.Epochs; e++)
        {
            var r = TrainEpoch(loader, e, progress);
            if (test is not null)
            {
                var (loss, acc) = Evaluate(test);
                r = r with { TestLoss = loss, TestAccuracy = acc };
            }
            results.Add(r);
            onEpoch?.Invoke(r);
            if (Options.MaxSteps > 0 && totalSteps >= Options.MaxSteps) break;
        }
        return results;
    }

    /// <summary>One epoch over <paramref name="loader"/> (zero-based <paramref name="epoch"/> selects shuffle and rate).</summary>
    public EpochResult TrainEpoch(DataLoader loader, int epoch, IProgress<TrainProgress>? progress = null)
    {
        if (loader.BatchSize != Options.BatchSize)
            throw new ArgumentException($"loader batch size {loader.BatchSize} differs from the trainer's {Options.BatchSize}");
        Optimizer.LearningRate = schedule.Rate(Options.LearningRate, epoch);
        Executor.ReadStatistics();
        var sw = Stopwatch.StartNew();
        double lossSum = 0, correct = 0, count = 0;
        int step = 0, steps = loader.BatchesPerEpoch;
        // The epoch in which --steps runs out is the last one: report that, not the configured count.
        int epochs = LastEpoch(epoch, loader.BatchesPerEpoch);
        if (Options.MaxSteps > 0) steps = (int)Math.Min(steps, Math.Max(0, Options.MaxSteps - totalSteps));
        foreach (var batch in loader.Epoch(epoch))
        {
            if (step >= steps) break;
            Executor.SetInput(batch.Images);
            Executor.SetLabels(batch.Labels);
            if (Diagnostics?.Due(totalSteps) == true) Diagnostics.Step(this, totalSteps);
            else RunStep();
            step++;
            totalSteps++;
            bool report = RecordLosses || step % ProgressInterval == 0 || step == steps;
            if (report)
            {
                var (l, c, n) = Executor.ReadStatistics();
                if (RecordLosses && n > 0) Losses.Add(l / n);
                lossSum += l; correct += c; count += n;
                progress?.Report(new TrainProgress(epoch + 1, epochs, step, steps, lossSum / Math.Max(1, count),
                    correct / Math.Max(1, count), count / sw.Elapsed.TotalSeconds));
            }
        }
        Executor.Synchronize();
        double secs = sw.Elapsed.TotalSeconds;
        EpochsDone = epoch + 1;
        return new EpochResult(epoch + 1, lossSum / Math.Max(1, count), correct / Math.Max(1, count), double.NaN, double.NaN,
            count / secs, secs, Optimizer.LearningRate, step);
    }

    /// <summary>
    /// Mean loss and accuracy on <paramref name="data"/> in eval mode (no dropout, running statistics); the last
    /// partial batch is padded and the padding ignored.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(Dataset data) =>
        Options.EvalTransform is null
            ? Evaluate(Executor, data, Options.Mean, Options.Std)
            : Evaluate(Executor, data, Options.EvalTransform);

    /// <summary>Mean loss and accuracy of an executor's model on <paramref name="data"/>, normalised by mean and std.</summary>
    public static (double Loss, double Accuracy) Evaluate(Executor executor, Dataset data, float mean, float std)
    {
        using var loader = new DataLoader(data, executor.BatchSize, shuffle: false, seed: 0, dropLast: false, mean: mean, std: std);
        return Evaluate(executor, loader);
    }

    /// <summary>Mean loss and accuracy of an executor's model on <paramref name="data"/> through a transform.</summary>
    public static (double Loss, double Accuracy) Evaluate(Executor executor, Dataset data, Augmentation transform)
    {
        using var loader = new DataLoader(data, executor.BatchSize, shuffle: false, seed: 0, dropLast: false, transform);
        return Evaluate(executor, loader);
    }

    static (double Loss, double Accuracy) Evaluate(Executor executor, DataLoader loader)
    {
        bool wasTraining = executor.TrainingMode;
        executor.TrainingMode = false;
        try
        {
            executor.ReadStatistics();
            foreach (var batch in loader.Epoch(0))
            {
                executor.SetInput(batch.Images);
                executor.SetLabels(batch.Labels);
                executor.Forward();
                executor.ComputeLoss();
            }
            var (l, c, n) = executor.ReadStatistics();
            return (l / Math.Max(1, n), c / Math.Max(1, n));
        }
        finally
        {
            executor.TrainingMode = wasTraining;
        }
    }

    /// <summary>Frees the executor and optimiser.</summary>
    public void Dispose()
    {
        stepGraph?.Dispose();
        Optimizer.Dispose();
        Executor.Dispose();
    }
}

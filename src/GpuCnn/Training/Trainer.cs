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
public sealed partial class Trainer : IDisposable
{
    readonly ILearningRateSchedule schedule;
    long totalSteps;
    EpochTally tally = new();

    /// <summary>Creates the executor, parameters (initialised from the seed) and optimiser.</summary>
    public Trainer(Graph graph, IReadOnlyList<ComputeDevice> devices, TrainOptions options)
    {
        Options = options;
        Graph = graph;
        if (options.OnNonFinite == NonFinitePolicy.Skip && (options.GradAccum > 1 || options.Communicator is { Size: > 1 }))
            throw new ArgumentException("--on-nonfinite skip replays single steps, which data parallelism and --grad-accum do not have; use stop");
        // The executor's store initialises the parameters from options.Seed on creation.
        Executor = new Executor(graph, devices, options.BatchSize, new ExecutorOptions { Seed = options.Seed, FuseActivations = options.FuseActivations,
            AccumulateGradients = options.GradAccum > 1 });
        if (options.InitFrom is { } init)
        {
            try { Serialization.Safetensors.Load(init).LoadInto(Executor.Parameters, strict: true); }
            catch (Serialization.StateDictException e) { Executor.Dispose(); throw new ArgumentException($"{init}: {e.Message}", e); }
            catch { Executor.Dispose(); throw; }
        }
        Optimizer = OptimizerFactory.Create(options.Optimizer, Executor.Parameters, options.LearningRate, options.Momentum,
            options.WeightDecay, options.Nesterov, options.DecayBiases);
        try { Parallel = Distributed.DataParallel.Create(Executor, Optimizer, options); }
        catch { Optimizer.Dispose(); Executor.Dispose(); throw; }
        schedule = options.Schedule is not null ? Schedules.Parse(options.Schedule, options.Epochs)
            : options.LrStepEpochs > 0 ? new StepLR(options.LrStepEpochs, options.LrGamma) : new ConstantLR();
        Guard = new NonFiniteGuard(options.OnNonFinite);
        if (options.ClipGradNorm > 0) Clipper = new GradClipper(Executor.Parameters, options.ClipGradNorm);
        compute = Compute;
        replayed = Replayed;
        if (options.CudaGraphs)
        {
            CudaGraphProblem =
                devices.Count != 1 ? "CUDA graphs capture one device's stream; this model spans several devices"
                : Parallel is not null ? "data parallelism and gradient accumulation split a step into several calls"
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
        Clipper?.Clip();
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
    /// <summary>Data parallelism and gradient accumulation; null when the options ask for neither.</summary>
    public Distributed.DataParallel? Parallel { get; }
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
    public int LastEpoch(int trainCount) => LastEpoch(EpochsDone, StepsPerEpoch(trainCount));

    /// <summary>
    /// Optimiser steps in an epoch over <paramref name="trainCount"/> images: full batches, this process's shard of
    /// them, over the micro-batches per step (partial ones are dropped).
    /// </summary>
    public int StepsPerEpoch(int trainCount) => trainCount / Options.BatchSize / (Parallel?.Communicator.Size ?? 1) / Options.GradAccum;

    // The last epoch when the next one to run is `next` (zero-based) and an epoch has `perEpoch` steps.
    int LastEpoch(int next, int perEpoch)
    {
        if (Options.MaxSteps <= 0 || perEpoch <= 0) return Options.Epochs;
        long left = Math.Max(0, Options.MaxSteps - totalSteps);
        return (int)Math.Min(Options.Epochs, next + Math.Max(1, (left + perEpoch - 1) / perEpoch));
    }

    /// <summary>
    /// Trains for <see cref="TrainOptions.Epochs"/> epochs, evaluating on <paramref name="test"/> after each; after
    /// <see cref="Restore"/> it continues mid-epoch where the state left off. Returns this call's epochs (all of them,
    /// restored ones included: <see cref="History"/>).
    /// </summary>
    public List<EpochResult> Fit(Dataset train, Dataset? test, IProgress<TrainProgress>? progress = null, Action<EpochResult>? onEpoch = null)
    {
        var results = new List<EpochResult>();
        Parallel?.CheckSame("training data", $"{train.Count} {train.SampleSize} {test?.Count}");
        using var loader = NewLoader(train);
        for (int e = EpochsDone; e < Options.Epochs; e++)
        {
            if (Options.MaxSteps > 0 && totalSteps >= Options.MaxSteps) break;
            var r = TrainEpoch(loader, e, progress);
            if (test is not null)
            {
                var (loss, acc) = Evaluate(test);
                r = r with { TestLoss = loss, TestAccuracy = acc };
            }
            results.Add(r);
            if (tally.Complete) History.Add(r);
            onEpoch?.Invoke(r);
            Checkpoints?.AfterEpoch(this, r);
        }
        return results;
    }

    /// <summary>
    /// A loader of <paramref name="data"/> with this trainer's batch size, shuffle seed and transform, and this
    /// process's shard of every global batch under data parallelism.
    /// </summary>
    public DataLoader NewLoader(Dataset data) => Options.TrainTransform is null
        ? new DataLoader(data, Options.BatchSize, shuffle: true, seed: Options.Seed, dropLast: true, mean: Options.Mean, std: Options.Std)
            { Shard = Parallel?.Shard ?? (0, 1) }
        : new DataLoader(data, Options.BatchSize, shuffle: true, seed: Options.Seed, dropLast: true, Options.TrainTransform,
            workers: Options.LoaderWorkers) { Shard = Parallel?.Shard ?? (0, 1) };

    /// <summary>Optimiser steps in an epoch of <paramref name="loader"/>: its batches (this process's shard) over the micro-batches per step.</summary>
    public int StepsPerEpoch(DataLoader loader) => loader.BatchesPerEpoch / Options.GradAccum;

    /// <summary>
    /// One epoch over <paramref name="loader"/> (zero-based <paramref name="epoch"/> selects shuffle and rate). When a
    /// restored state stands inside this epoch, the batches it already trained are passed over.
    /// </summary>
    public EpochResult TrainEpoch(DataLoader loader, int epoch, IProgress<TrainProgress>? progress = null)
    {
        if (loader.BatchSize != Options.BatchSize)
            throw new ArgumentException($"loader batch size {loader.BatchSize} differs from the trainer's {Options.BatchSize}");
        Optimizer.LearningRate = schedule.Rate(Options.LearningRate, epoch);
        Executor.ReadStatistics();
        if (tally.Epoch != epoch || tally.Complete) tally = new EpochTally { Epoch = epoch };
        int perEpoch = StepsPerEpoch(loader);
        tally.BatchesPerEpoch = perEpoch;
        var sw = Stopwatch.StartNew();
        int done = tally.Step, steps = perEpoch;
        // The epoch in which --steps runs out is the last one: report that, not the configured count.
        int epochs = LastEpoch(epoch, perEpoch);
        if (Options.MaxSteps > 0) steps = (int)Math.Min(steps, done + Math.Max(0, Options.MaxSteps - totalSteps));
        Guard.BeginEpoch(this, loader, epoch);
        int index = 0;
        foreach (var batch in loader.Epoch(epoch))
        {
            // Batches trained before the checkpoint this run resumed from (each step takes GradAccum of them).
            if (index++ < done * Options.GradAccum) continue;
            if (tally.Step >= steps) break;
            Executor.SetInput(batch.Images);
            Executor.SetLabels(batch.Labels);
            if (Parallel is not null)
            {
                if (!Parallel.MicroStep(Clipper is null ? null : Clipper.Clip)) continue; // a micro-batch that only accumulates
            }
            else if (Diagnostics?.Due(totalSteps) == true) Diagnostics.Step(this, totalSteps);
            else RunStep();
            tally.Step++;
            totalSteps++;
            if (RecordLosses || tally.Step % ProgressInterval == 0 || tally.Step == steps)
            {
                ReadInterval();
                progress?.Report(new TrainProgress(epoch + 1, epochs, tally.Step, steps, tally.LossSum / Math.Max(1, tally.Count),
                    tally.Correct / Math.Max(1, tally.Count), tally.Count / (tally.Seconds + sw.Elapsed.TotalSeconds)));
            }
            if (tally.Step < perEpoch) Checkpoints?.AfterStep(this);
        }
        Executor.Synchronize();
        tally.Seconds += sw.Elapsed.TotalSeconds;
        EpochsDone = epoch + 1;
        return new EpochResult(epoch + 1, tally.LossSum / Math.Max(1, tally.Count), tally.Correct / Math.Max(1, tally.Count), double.NaN,
            double.NaN, tally.Count / tally.Seconds, tally.Seconds, Optimizer.LearningRate, tally.Step);
    }

    /// <summary>Reads the device statistics since the last read into the epoch's sums, through the non-finite guard.</summary>
    void ReadInterval()
    {
        var (l, c, n) = Parallel?.Reduce(Executor.ReadStatistics()) ?? Executor.ReadStatistics();
        if (RecordLosses && n > 0) Losses.Add(l / n);
        tally.LossSum += l; tally.Correct += c; tally.Count += n;
        Guard.AfterRead(this, l);
    }

    /// <summary>Frees the executor and optimiser.</summary>
    public void Dispose()
    {
        stepGraph?.Dispose();
        Clipper?.Dispose();
        Parallel?.Dispose();
        Optimizer.Dispose();
        Executor.Dispose();
    }
}

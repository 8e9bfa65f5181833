using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Optimizers;
using GpuCnn.Training;
using ILGPU.Runtime;

namespace GpuCnn.Distributed;

/// <summary>
/// Data-parallel training and gradient accumulation for the <see cref="Trainer"/>, as PyTorch's DDP with
/// <c>no_sync</c>: each optimiser step runs <see cref="TrainOptions.GradAccum"/> micro-batches of
/// <see cref="TrainOptions.BatchSize"/> on every rank, the gradients accumulate in the executor, are summed over the
/// ranks in buckets during the last backward pass (<see cref="GradientSync"/>) and divided by ranks × micro-batches,
/// and then the same optimiser step runs everywhere. Rank r takes batches r, r + N, r + 2N, … of the shuffled epoch
/// (<see cref="DataLoader.Shard"/>), so a global step sees N × K disjoint batches; the last
/// <c>count mod (N·K·B)</c> samples of an epoch are dropped, as with <c>drop_last</c>. BatchNorm statistics stay
/// per rank, like DDP without SyncBatchNorm.
/// </summary>
public sealed class DataParallel : IDisposable
{
    readonly Executor executor;
    readonly Optimizer optimizer;
    readonly GradientSync sync;
    int micro;
    bool ranForward;

    DataParallel(Executor executor, Optimizer optimizer, ICommunicator comm, int microBatches)
    {
        this.executor = executor;
        this.optimizer = optimizer;
        Communicator = comm;
        MicroBatches = microBatches;
        sync = new GradientSync(executor.Parameters, comm, 1f / ((float)comm.Size * microBatches));
    }

    /// <summary>
    /// Null when <paramref name="options"/> asks for neither several ranks nor accumulation (the trainer then runs as
    /// before). Otherwise checks that every rank has the same model, placement and options, and broadcasts rank 0's
    /// parameters and buffers.
    /// </summary>
    /// <exception cref="InvalidOperationException">The ranks disagree.</exception>
    public static DataParallel? Create(Executor executor, Optimizer optimizer, TrainOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GradAccum, 1, nameof(options.GradAccum));
        var comm = options.Communicator ?? new SingleProcessCommunicator();
        if (comm.Size == 1 && options.GradAccum == 1) return null;
        var dp = new DataParallel(executor, optimizer, comm, options.GradAccum);
        try
        {
            dp.CheckSame("model, placement and options", Describe(executor, options));
            dp.BroadcastParameters();
        }
        catch { dp.Dispose(); throw; }
        return dp;
    }

    /// <summary>The ranks.</summary>
    public ICommunicator Communicator { get; }
    /// <summary>Micro-batches per optimiser step on each rank.</summary>
    public int MicroBatches { get; }
    /// <summary>The gradient reduction (its buckets and timings).</summary>
    public GradientSync Gradients => sync;
    /// <summary>The loader shard of this rank.</summary>
    public (int Index, int Count) Shard => (Communicator.Rank, Communicator.Size);

    /// <summary>Every rank calls this with its own <paramref name="text"/>; it throws on all of them unless all agree.</summary>
    public void CheckSame(string what, string text)
    {
        if (Communicator.Size == 1) return;
        var mine = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        var root = (byte[])mine.Clone();
        Communicator.Broadcast(root);
        var differ = new double[] { mine.AsSpan().SequenceEqual(root) ? 0 : 1 };
        Communicator.AllreduceSum(differ);
        if (differ[0] > 0)
            throw new InvalidOperationException($"{differ[0]:F0} of {Communicator.Size} ranks have different {what} than rank 0 " +
                $"(rank {Communicator.Rank}: {(mine.AsSpan().SequenceEqual(root) ? "same" : "different")}); start every rank with the same command");
    }

    void BroadcastParameters()
    {
        if (Communicator.Size == 1) return;
        foreach (var s in executor.Parameters.Slices)
        {
            var host = new float[s.Length];
            s.Values.View.CopyToCPU(s.Device.Stream, host);
            Communicator.Broadcast(host);
            s.Values.View.CopyFromCPU(s.Device.Stream, host);
        }
        executor.Synchronize();
    }

    static string Describe(Executor ex, TrainOptions o)
    {
        var b = new StringBuilder();
        b.AppendLine(ex.Graph.Name);
        foreach (var s in ex.Parameters.Slices)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"slice {s.Length} {s.TrainableLength} {s.DecayedLength}");
            foreach (var (p, off) in s.Entries) b.AppendLine(CultureInfo.InvariantCulture, $"{p.FullName} {p.Shape} {off}");
        }
        // Every field that changes the arithmetic of a step; the transforms by their description.
        b.AppendLine(string.Join(" ", new object?[]
        {
            o.Epochs, o.BatchSize, o.LearningRate, o.Momentum, o.WeightDecay, o.Seed, o.Optimizer, o.Nesterov, o.DecayBiases,
            o.Schedule, o.LrStepEpochs, o.LrGamma, o.Mean, o.Std, o.MaxSteps, o.GradAccum, o.FuseActivations, o.InitFrom,
            o.TrainTransform?.ToString(), o.EvalTransform?.ToString(),
        }.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        return b.ToString();
    }

    /// <summary>
    /// Runs one micro-batch (input and labels already uploaded): forward, loss, backward. The last of
    /// <see cref="MicroBatches"/> also sums the gradients over the ranks, runs <paramref name="beforeUpdate"/> (gradient
    /// clipping) and steps the optimiser; it returns true.
    /// </summary>
    public bool MicroStep(Action? beforeUpdate = null)
    {
        // Random layers (dropout) draw by (element, Executor.Step). Each micro-batch runs at the optimiser step's number
        // and offsets its element counters by its place in the step's whole batch, rank r's k-th at sample
        // (k·N + r)·B: N ranks of K micro-batches then draw exactly what one process draws for one batch of N·K·B.
        // Forward advances the counter before it runs once a training forward ran.
        int n = Communicator.Size;
        ulong number = (ulong)optimizer.Steps;
        executor.SampleOffset = ((long)micro * n + Communicator.Rank) * executor.BatchSize;
        executor.Step = ranForward ? number - 1 : number;
        ranForward = true;
        executor.Forward();
        executor.ComputeLoss();
        bool last = ++micro == MicroBatches;
        if (last)
        {
            sync.Begin();
            executor.GradientsReady = sync.OnGradientsReady;
        }
        try { executor.Backward(); }
        finally { executor.GradientsReady = null; }
        if (!last) return false;
        micro = 0;
        sync.Finish();
        beforeUpdate?.Invoke();
        optimizer.Step();
        if (MicroBatches > 1) executor.ZeroGrad();
        return true;
    }

    /// <summary>Sums loss, correct and sample counts over the ranks.</summary>
    public (double LossSum, double Correct, double Count) Reduce((double LossSum, double Correct, double Count) s)
    {
        if (Communicator.Size == 1) return s;
        Span<double> v = stackalloc double[] { s.LossSum, s.Correct, s.Count };
        Communicator.AllreduceSum(v);
        return (v[0], v[1], v[2]);
    }

    /// <summary>
    /// Evaluates rank r's contiguous share of <paramref name="data"/> (<paramref name="evaluate"/> returns means) and
    /// combines the shares into the mean loss and accuracy over all of it.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(Dataset data, Func<Dataset, (double Loss, double Accuracy)> evaluate)
    {
        if (Communicator.Size == 1) return evaluate(data);
        int n = Communicator.Size, r = Communicator.Rank;
        int start = (int)((long)data.Count * r / n), end = (int)((long)data.Count * (r + 1) / n);
        var (loss, acc) = end > start ? evaluate(data.Subset(start, end - start)) : (0, 0);
        var (l, c, count) = Reduce((loss * (end - start), acc * (end - start), end - start));
        return (l / Math.Max(1, count), c / Math.Max(1, count));
    }

    /// <summary>Stops the communication thread.</summary>
    public void Dispose() => sync.Dispose();
}

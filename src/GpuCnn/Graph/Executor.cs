using System.Diagnostics;
using System.Runtime.InteropServices;
using GpuCnn.Devices;
using GpuCnn.Tensors;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// Runs a <see cref="Graph"/> for a fixed batch size. At construction the <see cref="Planner"/> plans it (step order,
/// transfers between devices, fused activations, buffers placed by lifetime); the executor then allocates one arena
/// per device and builds one runnable step per planned step, so running a step allocates nothing. The loss on the
/// output is an <see cref="ILoss"/> (<see cref="ExecutorOptions.Loss"/>). Other batch sizes share the parameters
/// through <see cref="ForBatchSize"/>.
/// </summary>
public sealed partial class Executor : IDisposable
{
    readonly IReadOnlyList<ComputeDevice> devices;
    readonly bool ownsStore;
    readonly RunState state;
    readonly ILoss loss;
    readonly StepContext memory;
    readonly ExecutorStep[] steps;
    readonly HostLink<float>[][] uploads; // per graph input, per buffer it fills
    readonly Dictionary<int, Executor> byBatch = new();
    bool ranTrainingForward;

    /// <summary>An executor on one device.</summary>
    public Executor(Graph graph, ComputeDevice device, int batchSize, ExecutorOptions? options = null, ParameterStore? parameters = null)
        : this(graph, new[] { device }, batchSize, options, parameters) { }

    /// <summary>An executor over several devices; each node runs on <c>devices[node.Device]</c>.</summary>
    public Executor(Graph graph, IReadOnlyList<ComputeDevice> devices, int batchSize, ExecutorOptions? options = null, ParameterStore? parameters = null)
    {
        Plan = Planner.Build(graph, devices.Select(d => d.Id).ToArray(), batchSize, options);
        this.devices = devices;
        ownsStore = parameters is null;
        Parameters = parameters ?? new ParameterStore(graph, devices, Options.Seed);
        foreach (var n in Plan.Order) n.Layer?.Bind(devices[n.Device]);
        state = new RunState { Training = Options.Training };
        loss = Options.Loss();
        loss.Prepare(devices[Plan.Output.Device], Plan.Output, batchSize);
        memory = new StepContext(Plan, devices, state, loss);
        steps = Plan.Steps.Select(s => s.Build(memory)).ToArray();
        uploads = Plan.Inputs.Select(i => i.Uploads.Select(b => new HostLink<float>(memory.DeviceOf(b))).ToArray()).ToArray();
    }

    /// <summary>What this executor runs: steps, buffers and arenas, as the <see cref="Planner"/> decided.</summary>
    public Plan Plan { get; }
    /// <summary>The graph.</summary>
    public Graph Graph => Plan.Graph;
    /// <summary>Batch size the buffers were planned for.</summary>
    public int BatchSize => Plan.BatchSize;
    /// <summary>Options.</summary>
    public ExecutorOptions Options => Plan.Options;
    /// <summary>The parameters (possibly shared with another executor).</summary>
    public ParameterStore Parameters { get; }
    /// <summary>The devices, indexed by <see cref="Node.Device"/>.</summary>
    public IReadOnlyList<ComputeDevice> Devices => devices;
    /// <summary>The loss computed by <see cref="ComputeLoss"/>.</summary>
    public ILoss Loss => loss;
    /// <summary>Number of trainable values.</summary>
    public long ParameterCount => Graph.ParameterCount;
    /// <summary>Peak memory of activations and gradients, in bytes, summed over devices (the planned arenas).</summary>
    public long PeakActivationBytes => Plan.PeakBytes;
    /// <summary>What the same buffers would take with no reuse, in bytes.</summary>
    public long UnplannedActivationBytes => Plan.UnplannedBytes;
    /// <summary>Copies between devices in one training step, edge by edge: activations forward, gradients backward.</summary>
    public IReadOnlyList<Transfer> Transfers => Plan.Transfers;
    /// <summary>How many transfer steps copy peer to peer (the rest stage through page-locked host memory).</summary>
    public int PeerTransfers => steps.Count(s => s.Link?.Peer == true);

    /// <summary>
    /// An executor of the same graph, devices and options planned for <paramref name="batchSize"/> that shares this
    /// one's <see cref="Parameters"/> (this executor itself for its own batch size). It is created on first use,
    /// cached, and disposed with this executor; its mode and step counter are its own.
    /// </summary>
    public Executor ForBatchSize(int batchSize)
    {
        if (batchSize == BatchSize) return this;
        if (!byBatch.TryGetValue(batchSize, out var ex))
            byBatch[batchSize] = ex = new Executor(Graph, devices, batchSize, Options, Parameters);
        return ex;
    }

    PlanInput InputAt(int index) =>
        index >= 0 && index < Plan.Inputs.Count ? Plan.Inputs[index]
            : throw new ArgumentOutOfRangeException(nameof(index), $"the graph has {Plan.Inputs.Count} input(s)");

    /// <summary>Uploads a batch for graph input <paramref name="index"/>: exactly BatchSize × sample values, NCHW.</summary>
    public void SetInput(ReadOnlySpan<float> batch, int index = 0)
    {
        var input = InputAt(index);
        long size = Plan.Buffers[input.Buffer].Size;
        if (batch.Length != size)
            throw new ShapeMismatchException($"input '{input.Node.Name}'", $"{input.Node.Shape.WithBatch(BatchSize)} ({size} values)", $"{batch.Length} values");
        for (int k = 0; k < input.Uploads.Count; k++) uploads[index][k].Upload(batch, memory.View(input.Uploads[k]));
    }

    /// <summary>Uploads the labels for <see cref="ComputeLoss"/> (the loss's targets); a label &lt; 0 marks a padding row.</summary>
    public void SetLabels(ReadOnlySpan<int> batchLabels) => loss.SetTargets(batchLabels);

    /// <summary>Uploads float targets for a loss that takes them (<see cref="IFloatTargetLoss"/>: MSELoss, L1Loss, BCEWithLogitsLoss).</summary>
    public void SetTargets(ReadOnlySpan<float> targets)
    {
        if (loss is not IFloatTargetLoss f) throw new InvalidOperationException($"{loss.GetType().Name} takes integer labels: SetLabels");
        f.SetTargets(targets);
    }

    /// <summary>
    /// Whether forward passes behave as in training (dropout active, batch statistics). Defaults to the plan's
    /// <see cref="ExecutorOptions.Training"/>; set it to false to evaluate with a training plan.
    /// </summary>
    public bool TrainingMode
    {
        get => state.Training;
        set
        {
            if (value && !Options.Training) throw new InvalidOperationException("this executor was planned for inference only");
            state.Training = value;
        }
    }

    /// <summary>Training forward passes run so far: the step counter of per-step random numbers.</summary>
    public ulong Step { get => state.Step; set => state.Step = value; }

    /// <summary>
    /// Where this batch starts in the optimiser step's whole batch (0 by default): data parallelism and gradient
    /// accumulation set it per micro-batch, so that random layers (dropout) draw for each sample what one batch of
    /// the whole size would, and a split step equals the unsplit one up to summation order.
    /// </summary>
    public long SampleOffset { get => state.SampleOffset; set => state.SampleOffset = value; }

    /// <summary>Labels in the last batch that are not padding (a scalar of the loss kernel).</summary>
    public int ValidLabels => loss.ValidTargets;

    /// <summary>
    /// The host-side bookkeeping of a forward pass whose kernels were replayed from a captured graph: the step counter,
    /// and each BatchNorm's <c>num_batches_tracked</c>, which its forward counts on the host.
    /// </summary>
    internal void NoteReplayedForward()
    {
        NoteStep();
        if (!state.Training) return;
        foreach (var n in Plan.Order)
            if (n.Layer is Layers.BatchNorm2d bn) bn.NumBatchesTracked++;
    }

    void NoteStep()
    {
        if (state.Training && ranTrainingForward) state.Step++;
        ranTrainingForward |= state.Training;
    }

    /// <summary>Runs every forward step. In training mode each call is a new step for the layers' random numbers.</summary>
    public void Forward()
    {
        Parameters.BindViews();
        NoteStep();
        for (int i = 0; i < Plan.LossIndex; i++) steps[i].Run();
    }

    /// <summary>
    /// Runs the loss (<see cref="ExecutorOptions.Loss"/>; softmax cross-entropy by default): writes the output gradient
    /// on the device and adds the batch's statistics to device-side sums (see <see cref="ReadStatistics"/>).
    /// </summary>
    public void ComputeLoss() => steps[Plan.LossIndex].Run();

    /// <summary>Sets the gradient of the loss with respect to the output directly (a custom loss).</summary>
    public void SetOutputGradient(ReadOnlySpan<float> grad)
    {
        int g = Plan.Gradient(Plan.Output) ?? throw new InvalidOperationException("this executor has no output gradient");
        if (grad.Length != Plan.Buffers[g].Size)
            throw new ShapeMismatchException($"output gradient of '{Plan.Output.Name}'", $"{Plan.Output.Shape.WithBatch(BatchSize)}", $"{grad.Length} values");
        memory.View(g).CopyFromCPU(memory.DeviceOf(g).Stream, ref MemoryMarshal.GetReference(grad), grad.Length);
    }

    /// <summary>
    /// Runs every backward step (and the gradient transfers), filling parameter gradients: overwriting them, or with
    /// <see cref="ExecutorOptions.AccumulateGradients"/> adding to them until <see cref="ZeroGrad"/>.
    /// </summary>
    public void Backward()
    {
        if (!Options.Training) throw new InvalidOperationException("this executor was planned for inference only");
        Parameters.BindViews();
        state.ParamGradBeta = Options.AccumulateGradients && Parameters.GradientsHeld ? 1f : 0f;
        for (int i = Plan.LossIndex + 1; i < steps.Length; i++)
        {
            steps[i].Run();
            if (GradientsReady is not null) NotifyGradientsReady(i);
        }
        Parameters.GradientsHeld = Options.AccumulateGradients;
    }

    /// <summary>Clears the parameter gradients (<see cref="ParameterStore.ZeroGrad"/>), shared with every batch size.</summary>
    public void ZeroGrad() => Parameters.ZeroGrad();

    float[] Download(int buffer)
    {
        var a = new float[Plan.Buffers[buffer].Size];
        memory.View(buffer).CopyToCPU(memory.DeviceOf(buffer).Stream, a);
        return a;
    }

    /// <summary>Downloads the output of the last forward pass.</summary>
    public float[] GetOutput() => Download(Plan.Activation(Plan.Output));

    /// <summary>Downloads the gradient with respect to graph input <paramref name="index"/> (needs <see cref="ExecutorOptions.InputGradients"/>).</summary>
    public float[] GetInputGradient(int index = 0) =>
        Download(InputAt(index).Gradient ?? throw new InvalidOperationException("input gradients were not requested (ExecutorOptions.InputGradients)"));

    /// <summary>Per-row loss of the last <see cref="ComputeLoss"/> (0 for padding rows).</summary>
    public float[] GetRowLosses() => loss.GetRowLosses();

    /// <summary>Downloads and clears the statistics accumulated since the last call: summed loss, correct and sample counts.</summary>
    public (double LossSum, double Correct, double Count) ReadStatistics() => loss.ReadStatistics();

    /// <summary>
    /// Runs forward, loss and backward once, synchronising after every step, and returns each step's wall time.
    /// For profiling only: the synchronisation it adds is what a normal step avoids.
    /// </summary>
    public IReadOnlyList<(string Step, double Milliseconds)> Profile()
    {
        Parameters.BindViews();
        var result = new List<(string, double)>();
        int end = Options.Training ? steps.Length : Plan.LossIndex + 1;
        for (int i = 0; i < end; i++)
        {
            Synchronize();
            long t0 = Stopwatch.GetTimestamp();
            steps[i].Run();
            Synchronize();
            result.Add((steps[i].Name, Stopwatch.GetElapsedTime(t0).TotalMilliseconds));
        }
        return result;
    }

    /// <summary>Waits for every device.</summary>
    public void Synchronize()
    {
        foreach (var d in devices) d.Synchronize();
    }

    /// <summary>Frees the arenas, the loss's buffers, the executors of other batch sizes (and the parameters, when this executor created them).</summary>
    public void Dispose()
    {
        foreach (var ex in byBatch.Values) ex.Dispose();
        byBatch.Clear();
        foreach (var up in uploads.SelectMany(u => u)) up.Dispose();
        foreach (var st in steps) st.Dispose();
        memory.Dispose();
        loss.Dispose();
        if (ownsStore) Parameters.Dispose();
    }
}

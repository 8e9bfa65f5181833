using System.Diagnostics;
using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Kernels.Loss;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>One copy between devices per training step.</summary>
/// <param name="Tensor">The activation (forward) or the activation whose gradient (backward) crosses.</param>
/// <param name="From">Source device.</param>
/// <param name="To">Target device.</param>
/// <param name="Backward">True for a gradient travelling back.</param>
/// <param name="Bytes">Bytes copied.</param>
public sealed record Transfer(string Tensor, string From, string To, bool Backward, long Bytes)
{
    /// <summary><c>pool2a cpu:0 -> cpu:1</c>, with a leading <c>d</c> for gradients.</summary>
    public string Edge => $"{(Backward ? "d" : "")}{Tensor} {From} -> {To}";
}

/// <summary>Options of an <see cref="Executor"/>.</summary>
public sealed record ExecutorOptions
{
    /// <summary>Plan for training (gradients and backward). False plans a lean forward-only arena.</summary>
    public bool Training { get; init; } = true;
    /// <summary>Also compute gradients with respect to the graph inputs (gradient checks, saliency).</summary>
    public bool InputGradients { get; init; }
    /// <summary>Seed of the layers' random numbers (dropout, stochastic pooling).</summary>
    public int Seed { get; init; }
    /// <summary>
    /// Fuse a ReLU into the convolution or fully connected layer whose output only it reads: the producer applies
    /// max(0, ·) in its epilogue, the ReLU shares its memory and launches no forward kernel, and its backward runs in
    /// place (mask [y &gt; 0], which equals [x &gt; 0]). Results are bit-identical to the unfused graph. On by default.
    /// </summary>
    public bool FuseActivations { get; init; } = true;
}

/// <summary>
/// Runs a <see cref="Graph"/> for a fixed batch size. At construction it orders the nodes topologically, schedules
/// forward, loss and backward (backward in reverse), turns every edge between nodes on different devices into a
/// transfer step (activations forward, gradients backward), and plans all activation and gradient buffers once,
/// reusing memory between buffers whose lifetimes do not overlap. Running a step then allocates nothing.
/// </summary>
public sealed class Executor : IDisposable
{
    enum StepKind { Forward, Backward, Loss, TransferForward, TransferBackward }

    sealed class Storage
    {
        public Storage(string name, int device, long size) { Device = device; Buffer = new PlannedBuffer(name, size); }
        public int Device { get; }
        public PlannedBuffer Buffer { get; }
        public ArrayView<float> View;
        public Storage? Grad;
        public Storage? MirrorOf;
        public bool HostFed; // a graph input's copy on another device, uploaded from the host by SetInput
    }

    sealed class ScheduledStep
    {
        public StepKind Kind;
        public Node? Node;
        public LayerIO? IO;
        public Storage? Src, Dst, Staging;
        public float Beta;
        public long Length;
        public PageLockedArray1D<float>? Pinned;
        public bool Peer;
        public Storage[] InputStorages = Array.Empty<Storage>();
        public Storage? OutStorage;
        public bool FusedRelu; // forward of a producer that applies the next ReLU; backward of that ReLU (in place)
    }

    readonly IReadOnlyList<ComputeDevice> devices;
    readonly bool ownsStore;
    readonly List<ScheduledStep> steps = new();
    readonly List<Storage> storages = new();
    readonly Dictionary<Node, Storage> act = new();
    readonly MemoryBuffer1D<float, Stride1D.Dense>[] arenas;
    readonly long[] arenaSizes;
    readonly int lossStep;
    readonly IReadOnlyList<Node> order;
    readonly Node output;
    readonly int classes;
    readonly MemoryBuffer1D<int, Stride1D.Dense> labels;
    // Uploads that do not synchronise the stream (one per graph input, and the labels), created on first use.
    readonly Dictionary<(int Input, int Device), StagedUpload<float>> inputUploads = new();
    StagedUpload<int>? labelUpload;
    readonly MemoryBuffer1D<float, Stride1D.Dense> lossRows, correctRows;
    readonly MemoryBuffer1D<double, Stride1D.Dense> stats;
    readonly Action<AcceleratorStream, Index1D, int, int, int, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>? lossKernel;
    readonly Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<double>>? statsKernel;
    readonly Dictionary<int, Kernel<AxpbyArgs>> axpby = new();
    int validLabels;
    bool trainingMode;
    bool ranTrainingForward;

    /// <summary>An executor on one device.</summary>
    public Executor(Graph graph, ComputeDevice device, int batchSize, ExecutorOptions? options = null, ParameterStore? parameters = null)
        : this(graph, new[] { device }, batchSize, options, parameters) { }

    /// <summary>An executor over several devices; each node runs on <c>devices[node.Device]</c>.</summary>
    public Executor(Graph graph, IReadOnlyList<ComputeDevice> devices, int batchSize, ExecutorOptions? options = null, ParameterStore? parameters = null)
    {
        if (batchSize <= 0) throw new ArgumentException($"batch size must be positive, got {batchSize}");
        if (devices.Count == 0) throw new ArgumentException("at least one device is needed");
        Graph = graph;
        this.devices = devices;
        BatchSize = batchSize;
        Options = options ?? new ExecutorOptions();
        trainingMode = Options.Training;
        order = graph.TopologicalOrder();
        output = graph.Output;
        foreach (var n in order) ParameterStore.CheckDevice(n, devices);
        ownsStore = parameters is null;
        Parameters = parameters ?? new ParameterStore(graph, devices);
        foreach (var n in order) n.Layer?.Bind(devices[n.Device]);

        BuildSchedule(out lossStep);
        arenaSizes = new long[devices.Count];
        arenas = new MemoryBuffer1D<float, Stride1D.Dense>[devices.Count];
        for (int d = 0; d < devices.Count; d++)
        {
            var onDevice = storages.Where(s => s.Device == d).Select(s => s.Buffer).Distinct().ToList();
            arenaSizes[d] = MemoryPlanner.Plan(onDevice);
            arenas[d] = devices[d].Allocate<float>(arenaSizes[d]);
        }
        foreach (var s in storages)
            s.View = arenas[s.Device].View.SubView(s.Buffer.Offset, s.Buffer.Size);
        BuildLayerIO();
        EnablePeerTransfers();

        var outDev = devices[output.Device];
        classes = output.Shape.Rank == 1 ? output.Shape[0] : 0;
        labels = outDev.Allocate<int>(batchSize);
        lossRows = outDev.Allocate<float>(batchSize);
        correctRows = outDev.Allocate<float>(batchSize);
        stats = outDev.Allocate<double>(3);
        stats.View.MemSetToZero(outDev.Stream);
        lossKernel = outDev.Load<int, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(LossKernels.SoftmaxCrossEntropy);
        statsKernel = outDev.Accelerator.LoadAutoGroupedKernel<Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<double>>(LossKernels.AccumulateStats);
        for (int d = 0; d < devices.Count; d++)
            axpby[d] = devices[d].LoadKernel<AxpbyArgs>(ElementwiseKernels.Axpby);
    }

    /// <summary>The graph.</summary>
    public Graph Graph { get; }
    /// <summary>Batch size the buffers were planned for.</summary>
    public int BatchSize { get; }
    /// <summary>Options.</summary>
    public ExecutorOptions Options { get; }
    /// <summary>The parameters (possibly shared with another executor).</summary>
    public ParameterStore Parameters { get; }
    /// <summary>The devices, indexed by <see cref="Node.Device"/>.</summary>
    public IReadOnlyList<ComputeDevice> Devices => devices;
    /// <summary>Number of trainable values.</summary>
    public long ParameterCount => Graph.ParameterCount;
    /// <summary>Peak memory of activations and gradients, in bytes, summed over devices (the planned arenas).</summary>
    public long PeakActivationBytes => arenaSizes.Sum() * sizeof(float);
    /// <summary>What the same buffers would take with no reuse, in bytes.</summary>
    public long UnplannedActivationBytes => storages.Select(s => s.Buffer).Distinct().Sum(b => b.Size) * sizeof(float);
    /// <summary>Copies between devices in one training step, edge by edge: activations forward, gradients backward.</summary>
    public IReadOnlyList<Transfer> TransferBytesPerStep =>
        steps.Where(s => s.Kind is StepKind.TransferForward or StepKind.TransferBackward)
             .Select(s => new Transfer(
                 s.Kind == StepKind.TransferForward ? s.Src!.Buffer.Name : s.Dst!.Buffer.Name[1..],
                 devices[s.Src!.Device].Id,
                 devices[(s.Kind == StepKind.TransferForward ? s.Dst! : s.Staging!).Device].Id,
                 s.Kind == StepKind.TransferBackward,
                 s.Src.Buffer.Size * sizeof(float))).ToList();

    /// <summary>The planned buffers: name, device, offset, size (elements) and live step range. For tests and tools.</summary>
    public IReadOnlyList<(string Name, int Device, long Offset, long Size, int First, int Last)> Plan =>
        storages.Select(s => s.Buffer).Distinct()
            .Select(b => (b.Name, storages.First(s => s.Buffer == b).Device, b.Offset, b.Size, b.First, b.Last)).ToList();

    Storage NewStorage(string name, int device, long size)
    {
        var s = new Storage(name, device, size);
        storages.Add(s);
        return s;
    }

    void BuildSchedule(out int lossIndex)
    {
        bool training = Options.Training;
        var mirrors = new Dictionary<(Storage, int), Storage>();
        var inputsOf = new Dictionary<Node, Storage[]>();
        Storage Resolve(Node producer, int device, List<ScheduledStep> list)
        {
            var s = act[producer];
            if (s.Device == device) return s;
            if (!mirrors.TryGetValue((s, device), out var m))
            {
                m = NewStorage($"{s.Buffer.Name}@{device}", device, s.Buffer.Size);
                m.MirrorOf = s;
                mirrors[(s, device)] = m;
                // A graph input goes to every device that reads it straight from the host: no device-to-device copy.
                if (producer.IsInput) m.HostFed = true;
                else list.Add(new ScheduledStep { Kind = StepKind.TransferForward, Src = s, Dst = m, Length = s.Buffer.Size });
            }
            return m;
        }

        var fused = FusibleRelus();
        var forwardOf = new Dictionary<Node, ScheduledStep>();
        foreach (var n in order)
        {
            long size = n.Shape.Size * BatchSize;
            if (n.IsInput) { act[n] = NewStorage(n.Name, n.Device, size); continue; }
            var ins = n.Inputs.Select(i => Resolve(i, n.Device, steps)).ToArray();
            inputsOf[n] = ins;
            if (fused.Contains(n))
            {
                act[n] = ins[0]; // the producer already wrote max(0, ·) here
                forwardOf[n.Inputs[0]].FusedRelu = true;
                continue;
            }
            act[n] = n.Layer!.IsAlias ? ins[0] : NewStorage(n.Name, n.Device, size);
            var st = new ScheduledStep { Kind = StepKind.Forward, Node = n, InputStorages = ins, OutStorage = act[n] };
            forwardOf[n] = st;
            steps.Add(st);
        }

        // Gradient storages. An alias shares its input's gradient; a mirror has its own on the consumer's device.
        foreach (var n in order)
        {
            var s = act[n];
            if (s.Grad is not null) continue;
            if (n.IsInput && !Options.InputGradients) continue;
            if (!training && n != output) continue;
            s.Grad = NewStorage("d" + s.Buffer.Name, s.Device, s.Buffer.Size);
        }
        foreach (var m in mirrors.Values)
            if (m.MirrorOf!.Grad is not null && training)
                m.Grad = NewStorage("d" + m.Buffer.Name, m.Device, m.Buffer.Size);

        lossIndex = steps.Count;
        steps.Add(new ScheduledStep { Kind = StepKind.Loss, Node = output, Src = act[output], Dst = act[output].Grad });
        if (training)
        {
            // The mirror's gradient is complete after the backward of its earliest consumer.
            var lastReader = new Dictionary<Storage, Node>();
            foreach (var n in order.Where(n => !n.IsInput))
                foreach (var s in inputsOf[n])
                    if (s.MirrorOf is not null && !lastReader.ContainsKey(s)) lastReader[s] = n;
            foreach (var n in order.Reverse())
            {
                if (n.IsInput) continue;
                if (!n.Layer!.IsAlias)
                    steps.Add(new ScheduledStep { Kind = StepKind.Backward, Node = n, InputStorages = inputsOf[n], OutStorage = act[n], FusedRelu = fused.Contains(n) });
                foreach (var (m, reader) in lastReader)
                    if (reader == n && m.Grad is not null)
                        steps.Add(new ScheduledStep
                        {
                            Kind = StepKind.TransferBackward, Src = m.Grad, Dst = m.MirrorOf!.Grad,
                            Staging = NewStorage("stage-" + m.Grad.Buffer.Name, m.MirrorOf.Device, m.Buffer.Size),
                            Length = m.Buffer.Size,
                        });
            }
        }

        // Lifetimes: every storage is live from its first to its last touch.
        int last = steps.Count;
        foreach (var n in order.Where(n => n.IsInput))
        {
            act[n].Buffer.Touch(0);
            if (act[n].Grad is { } g) { g.Buffer.Touch(0); g.Buffer.Touch(last); }
        }
        foreach (var m in mirrors.Values.Where(m => m.HostFed))
            m.Buffer.Touch(0); // written by SetInput before the first step
        inputNodes = order.Where(n => n.IsInput).ToArray();
        inputTargets = inputNodes.Select(n => mirrors.Values.Where(m => m.HostFed && m.MirrorOf == act[n]).Prepend(act[n]).ToArray()).ToArray();
        act[output].Buffer.Touch(last);
        act[output].Grad?.Buffer.Touch(last);
        var written = new HashSet<Storage>();
        for (int i = 0; i < steps.Count; i++)
        {
            var st = steps[i];
            switch (st.Kind)
            {
                case StepKind.Forward:
                    foreach (var s in st.InputStorages) s.Buffer.Touch(i);
                    st.OutStorage!.Buffer.Touch(i);
                    break;
                case StepKind.TransferForward:
                case StepKind.Loss:
                    st.Src!.Buffer.Touch(i);
                    st.Dst?.Buffer.Touch(i);
                    if (st.Kind == StepKind.Loss && st.Dst is not null) written.Add(st.Dst);
                    break;
                case StepKind.Backward:
                    var layer = st.Node!.Layer!;
                    st.OutStorage!.Grad!.Buffer.Touch(i);
                    if (layer.BackwardNeedsOutput) st.OutStorage.Buffer.Touch(i);
                    foreach (var s in st.InputStorages)
                    {
                        if (layer.BackwardNeedsInputs) s.Buffer.Touch(i);
                        if (s.Grad is not null) { s.Grad.Buffer.Touch(i); }
                    }
                    break;
                case StepKind.TransferBackward:
                    st.Src!.Buffer.Touch(i);
                    st.Staging!.Buffer.Touch(i);
                    st.Dst!.Buffer.Touch(i);
                    st.Beta = written.Add(st.Dst) ? 0f : 1f;
                    break;
            }
            if (st.Kind == StepKind.Backward)
            {
                // Decide overwrite or accumulate per input, in execution order.
                var betas = new float[st.InputStorages.Length];
                for (int k = 0; k < betas.Length; k++)
                {
                    var g = st.InputStorages[k].Grad;
                    // A fused ReLU's input gradient is its own output gradient: masked in place, never accumulated.
                    if (g is not null) betas[k] = written.Add(g) || st.FusedRelu ? 0f : 1f;
                }
                st.IO = new LayerIO { GradInputBeta = betas };
            }
        }
    }

    /// <summary>
    /// ReLU nodes that can run inside their producer: the producer can fuse (Conv2d, Linear), sits on the same device,
    /// is not the graph's output, and the ReLU is its only reader.
    /// </summary>
    HashSet<Node> FusibleRelus()
    {
        var result = new HashSet<Node>();
        if (!Options.FuseActivations) return result;
        var readers = new Dictionary<Node, int>();
        foreach (var n in order)
            foreach (var i in n.Inputs) readers[i] = readers.GetValueOrDefault(i) + 1;
        foreach (var n in order)
        {
            if (n.IsInput || n.Layer is not IFusibleActivation act || n.Inputs.Count != 1) continue;
            var p = n.Inputs[0];
            if (p.IsInput || p == output || p.Device != n.Device || !p.Layer!.CanFuse(act.Epilogue) || readers[p] != 1) continue;
            result.Add(n);
        }
        return result;
    }

    void BuildLayerIO()
    {
        foreach (var st in steps)
        {
            if (st.Kind is not (StepKind.Forward or StepKind.Backward)) continue;
            var n = st.Node!;
            var io = st.IO ?? new LayerIO { GradInputBeta = new float[st.InputStorages.Length] };
            io.Batch = BatchSize;
            io.Training = Options.Training;
            io.Seed = Options.Seed;
            io.FusedActivation = st.Kind == StepKind.Forward && st.FusedRelu
                ? ((IFusibleActivation)order.First(m => m.Inputs.Count == 1 && m.Inputs[0] == n && m.Layer is IFusibleActivation).Layer!).Epilogue
                : default;
            io.Inputs = st.InputStorages.Select((s, k) => new TensorRef(s.View, n.Inputs[k].Shape.WithBatch(BatchSize))).ToArray();
            io.Output = new TensorRef(st.OutStorage!.View, n.Shape.WithBatch(BatchSize));
            if (st.Kind == StepKind.Backward)
            {
                io.GradOutput = new TensorRef(st.OutStorage.Grad!.View, n.Shape.WithBatch(BatchSize));
                io.GradInputs = st.InputStorages.Select((s, k) =>
                    s.Grad is null ? default : new TensorRef(s.Grad.View, n.Inputs[k].Shape.WithBatch(BatchSize))).ToArray();
            }
            st.IO = io;
        }
    }

    // Graph inputs in order, and per input the buffers SetInput fills: its own and its copies on other devices.
    Node[] inputNodes = Array.Empty<Node>();
    Storage[][] inputTargets = Array.Empty<Storage[]>();

    Storage InputStorage(int index)
    {
        if (index < 0 || index >= inputNodes.Length)
            throw new ArgumentOutOfRangeException(nameof(index), $"the graph has {inputNodes.Length} input(s)");
        return act[inputNodes[index]];
    }

    /// <summary>Uploads a batch for graph input <paramref name="index"/>: exactly BatchSize × sample values, NCHW.</summary>
    public void SetInput(ReadOnlySpan<float> batch, int index = 0)
    {
        var s = InputStorage(index);
        if (batch.Length != s.Buffer.Size)
        {
            var node = inputNodes[index];
            throw new ShapeMismatchException($"input '{node.Name}'", $"{node.Shape.WithBatch(BatchSize)} ({s.Buffer.Size} values)", $"{batch.Length} values");
        }
        foreach (var target in inputTargets[index]) Upload(batch, target, index);
    }

    void Upload(ReadOnlySpan<float> batch, Storage s, int index)
    {
        var dev = devices[s.Device];
        if (dev.Kind == DeviceKind.Cpu) // the CPU accelerator runs in order on the host anyway: nothing to overlap
        {
            s.View.CopyFromCPU(dev.Stream, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(batch), batch.Length);
            return;
        }
        if (!inputUploads.TryGetValue((index, s.Device), out var up)) inputUploads[(index, s.Device)] = up = new StagedUpload<float>(dev);
        up.Upload(batch, s.View);
    }

    /// <summary>Uploads the labels for <see cref="ComputeLoss"/>; a label &lt; 0 marks a padding row.</summary>
    public void SetLabels(ReadOnlySpan<int> batchLabels)
    {
        if (batchLabels.Length != BatchSize)
            throw new ShapeMismatchException("labels", $"[{BatchSize}]", $"[{batchLabels.Length}]");
        int valid = 0;
        foreach (int l in batchLabels)
        {
            if (l >= classes && classes > 0)
                throw new ArgumentException($"label {l} is out of range for {classes} classes (output node '{output.Name}' {output.Shape})");
            if (l >= 0) valid++;
        }
        validLabels = valid;
        var dev = devices[output.Device];
        if (dev.Kind == DeviceKind.Cpu)
            labels.View.CopyFromCPU(dev.Stream, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(batchLabels), batchLabels.Length);
        else
            (labelUpload ??= new StagedUpload<int>(dev)).Upload(batchLabels, labels.View);
    }

    /// <summary>
    /// Whether forward passes behave as in training (dropout active, batch statistics). Defaults to the plan's
    /// <see cref="ExecutorOptions.Training"/>; set it to false to evaluate with a training plan.
    /// </summary>
    public bool TrainingMode
    {
        get => trainingMode;
        set
        {
            if (value && !Options.Training) throw new InvalidOperationException("this executor was planned for inference only");
            trainingMode = value;
        }
    }

    /// <summary>Training forward passes run so far: the step counter of per-step random numbers.</summary>
    public ulong Step { get; set; }

    /// <summary>Labels in the last batch that are not padding (a scalar of the loss kernel).</summary>
    public int ValidLabels => validLabels;

    /// <summary>The host-side bookkeeping of a forward pass whose kernels were replayed from a captured graph.</summary>
    internal void NoteReplayedForward()
    {
        if (trainingMode && ranTrainingForward) Step++;
        ranTrainingForward |= trainingMode;
    }

    /// <summary>Runs every forward step. In training mode each call is a new step for the layers' random numbers.</summary>
    public void Forward()
    {
        Parameters.BindViews();
        NoteReplayedForward();
        for (int i = 0; i < lossStep; i++) Run(steps[i]);
    }

    /// <summary>
    /// Mean softmax cross-entropy of the output against the labels: writes the output gradient on the device and adds
    /// the batch's loss sum, correct count and sample count to device-side statistics (see <see cref="ReadStatistics"/>).
    /// </summary>
    public void ComputeLoss()
    {
        if (classes == 0)
            throw new ShapeMismatchException($"loss on output '{output.Name}'", "[classes] per sample (logits)", output.Shape.ToString());
        Run(steps[lossStep]);
    }

    /// <summary>Sets the gradient of the loss with respect to the output directly (a custom loss).</summary>
    public void SetOutputGradient(ReadOnlySpan<float> grad)
    {
        var g = act[output].Grad ?? throw new InvalidOperationException("this executor has no output gradient");
        if (grad.Length != g.Buffer.Size)
            throw new ShapeMismatchException($"output gradient of '{output.Name}'", $"{output.Shape.WithBatch(BatchSize)}", $"{grad.Length} values");
        g.View.CopyFromCPU(devices[g.Device].Stream, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(grad), grad.Length);
    }

    /// <summary>Runs every backward step (and the gradient transfers), filling parameter gradients.</summary>
    public void Backward()
    {
        if (!Options.Training) throw new InvalidOperationException("this executor was planned for inference only");
        Parameters.BindViews();
        for (int i = lossStep + 1; i < steps.Count; i++) Run(steps[i]);
    }

    /// <summary>Downloads the output of the last forward pass.</summary>
    public float[] GetOutput()
    {
        var s = act[output];
        var a = new float[s.Buffer.Size];
        s.View.CopyToCPU(devices[s.Device].Stream, a);
        return a;
    }

    /// <summary>Downloads the gradient with respect to graph input <paramref name="index"/> (needs <see cref="ExecutorOptions.InputGradients"/>).</summary>
    public float[] GetInputGradient(int index = 0)
    {
        var g = InputStorage(index).Grad ?? throw new InvalidOperationException("input gradients were not requested (ExecutorOptions.InputGradients)");
        var a = new float[g.Buffer.Size];
        g.View.CopyToCPU(devices[g.Device].Stream, a);
        return a;
    }

    /// <summary>Per-row loss of the last <see cref="ComputeLoss"/> (0 for padding rows).</summary>
    public float[] GetRowLosses()
    {
        var a = new float[BatchSize];
        lossRows.View.CopyToCPU(devices[output.Device].Stream, a);
        return a;
    }

    /// <summary>Downloads and clears the statistics accumulated since the last call: summed loss, correct and sample counts.</summary>
    public (double LossSum, double Correct, double Count) ReadStatistics()
    {
        var a = new double[3];
        var stream = devices[output.Device].Stream;
        stats.View.CopyToCPU(stream, a);
        stats.View.MemSetToZero(stream);
        return (a[0], a[1], a[2]);
    }

    /// <summary>
    /// Runs forward, loss and backward once, synchronising after every step, and returns each step's wall time.
    /// For profiling only: the synchronisation it adds is what a normal step avoids.
    /// </summary>
    public IReadOnlyList<(string Step, double Milliseconds)> Profile()
    {
        Parameters.BindViews();
        var result = new List<(string, double)>();
        int end = Options.Training ? steps.Count : lossStep + 1;
        for (int i = 0; i < end; i++)
        {
            var st = steps[i];
            Synchronize();
            long t0 = Stopwatch.GetTimestamp();
            Run(st);
            Synchronize();
            string what = st.Node is not null ? $"{st.Kind.ToString().ToLowerInvariant()} {st.Node.Name}" : $"{st.Kind} {st.Src!.Buffer.Name}";
            result.Add((what, Stopwatch.GetElapsedTime(t0).TotalMilliseconds));
        }
        return result;
    }

    /// <summary>Waits for every device.</summary>
    public void Synchronize()
    {
        foreach (var d in devices) d.Synchronize();
    }

    void Run(ScheduledStep st)
    {
        switch (st.Kind)
        {
            case StepKind.Forward:
                st.IO!.Training = trainingMode;
                st.IO.Step = Step;
                st.Node!.Layer!.Forward(st.IO);
                break;
            case StepKind.Backward:
                st.IO!.Training = trainingMode;
                st.IO.Step = Step;
                st.Node!.Layer!.Backward(st.IO);
                break;
            case StepKind.Loss:
            {
                var dev = devices[output.Device];
                var grad = st.Dst!.View;
                dev.Launch(lossKernel!, BatchSize, classes, st.Src!.View, labels.View, lossRows.View, correctRows.View, grad,
                    validLabels > 0 ? 1f / validLabels : 0f);
                statsKernel!(dev.Stream, 1, BatchSize, lossRows.View, correctRows.View, labels.View, stats.View);
                break;
            }
            case StepKind.TransferForward:
                Transfer(st, st.Src!, st.Dst!);
                break;
            case StepKind.TransferBackward:
            {
                // The gradient arrives in a staging buffer and is added (β) into the producer's gradient.
                Transfer(st, st.Src!, st.Staging!);
                int d = st.Dst!.Device;
                axpby[d].Launch((int)st.Dst.Buffer.Size, new AxpbyArgs { X = st.Staging!.View, Y = st.Dst.View, Alpha = 1f, Beta = st.Beta });
                break;
            }
            default:
                throw new UnreachableException();
        }
    }

    /// <summary>
    /// Copies between devices. Two CUDA devices with peer access copy directly; any other pair stages through a
    /// page-locked host buffer (one per transfer step, allocated once). The copy waits for the source stream, so the
    /// producer's kernels have finished; the target's stream orders the copy before its consumers.
    /// </summary>
    void Transfer(ScheduledStep st, Storage src, Storage dst)
    {
        var from = devices[src.Device];
        var to = devices[dst.Device];
        from.Stream.Synchronize();
        if (st.Peer)
        {
            src.View.CopyTo(to.Stream, dst.View);
            return;
        }
        to.Stream.Synchronize(); // the staging buffer may still feed the previous step's copy
        st.Pinned ??= from.Accelerator.AllocatePageLocked1D<float>(st.Length, uninitialized: true);
        src.View.CopyToPageLockedAsync(from.Stream, st.Pinned);
        from.Stream.Synchronize();
        dst.View.CopyFromPageLockedAsync(to.Stream, st.Pinned);
    }

    /// <summary>Enables peer access between CUDA devices that allow it, and marks the transfers that can use it.</summary>
    void EnablePeerTransfers()
    {
        foreach (var st in steps.Where(s => s.Kind is StepKind.TransferForward or StepKind.TransferBackward))
        {
            var a = devices[st.Src!.Device];
            var b = devices[(st.Kind == StepKind.TransferForward ? st.Dst! : st.Staging!).Device];
            if (a.Kind != DeviceKind.Cuda || b.Kind != DeviceKind.Cuda || ReferenceEquals(a, b)) continue;
            try
            {
                if (!a.Accelerator.CanAccessPeer(b.Accelerator)) continue;
                a.Accelerator.EnablePeerAccess(b.Accelerator);
                if (b.Accelerator.CanAccessPeer(a.Accelerator)) b.Accelerator.EnablePeerAccess(a.Accelerator);
                st.Peer = true;
            }
            catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ILGPU.Runtime.Cuda.CudaException)
            {
                st.Peer = false; // fall back to staging through page-locked memory
            }
        }
    }

    /// <summary>How many transfer steps copy peer to peer (the rest stage through page-locked host memory).</summary>
    public int PeerTransfers => steps.Count(s => s.Peer);

    /// <summary>Frees the arenas (and the parameters, when this executor created them).</summary>
    public void Dispose()
    {
        foreach (var up in inputUploads.Values) up.Dispose();
        labelUpload?.Dispose();
        foreach (var st in steps) st.Pinned?.Dispose();
        foreach (var a in arenas) a?.Dispose();
        labels.Dispose();
        lossRows.Dispose();
        correctRows.Dispose();
        stats.Dispose();
        if (ownsStore) Parameters.Dispose();
    }
}

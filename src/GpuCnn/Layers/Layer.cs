using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Tensors;
using ILGPU;

namespace GpuCnn.Layers;

/// <summary>A device view with its full shape (batch dimension first).</summary>
public readonly record struct TensorRef(ArrayView<float> View, Shape Shape)
{
    /// <summary>Number of elements.</summary>
    public int Size => (int)Shape.Size;
    /// <summary>True for an unset reference (no gradient wanted).</summary>
    public bool IsEmpty => Shape is null;
}

/// <summary>Everything a layer's forward or backward pass reads and writes. The executor fills it.</summary>
public sealed class LayerIO
{
    /// <summary>Batch size of this pass.</summary>
    public int Batch { get; internal set; }
    /// <summary>True in training (dropout and the like behave differently).</summary>
    public bool Training { get; internal set; }
    /// <summary>Seed of the run; with the layer's name it keys the layer's random numbers.</summary>
    public int Seed { get; internal set; }
    /// <summary>Training step (counts training forward passes from 0); the counter of per-step random numbers.</summary>
    public ulong Step { get; internal set; }
    /// <summary>
    /// This batch's first sample in the step's whole batch: 0, except for a micro-batch or a rank's shard under
    /// gradient accumulation and data parallelism, where random layers start their element counters from it.
    /// </summary>
    public long SampleOffset { get; internal set; }
    /// <summary><see cref="SampleOffset"/> in elements of the output: the counter offset of per-element random numbers.</summary>
    public ulong ElementOffset => Batch == 0 ? 0 : (ulong)SampleOffset * (ulong)(Output.Size / Batch);
    /// <summary>Inputs, in the order the node lists them.</summary>
    public TensorRef[] Inputs { get; internal set; } = Array.Empty<TensorRef>();
    /// <summary>Output.</summary>
    public TensorRef Output { get; internal set; }
    /// <summary>Gradient of the loss with respect to the output (backward only).</summary>
    public TensorRef GradOutput { get; internal set; }
    /// <summary>Where to write input gradients; an empty entry means that input needs none.</summary>
    public TensorRef[] GradInputs { get; internal set; } = Array.Empty<TensorRef>();
    /// <summary>Per input: 0 to overwrite its gradient, 1 to add to it (when several consumers share the input).</summary>
    public float[] GradInputBeta { get; internal set; } = Array.Empty<float>();
    /// <summary>Scale of the old parameter gradients: 0 overwrites, 1 accumulates.</summary>
    public float ParamGradBeta { get; internal set; }
    /// <summary>
    /// Forward only: the activation that alone consumes this output and that the executor fused into this layer (see
    /// <see cref="Layer.CanFuse"/>), so the layer writes f(y). The activation node then launches no forward kernel.
    /// Disabled when nothing is fused.
    /// </summary>
    public FusedActivation FusedActivation { get; internal set; }

    /// <summary>The layer that last checked these shapes; planned IO never changes, so it is checked once.</summary>
    internal Layer? CheckedBy;
}

/// <summary>
/// Base of every layer. It checks input counts and shapes and names the layer in every error, binds the layer to
/// the device it runs on (loading its kernels once per accelerator through the device's cache), and dispatches
/// forward and backward. A subclass only computes: it infers its output shape, declares its parameters and
/// launches its kernels.
/// </summary>
public abstract class Layer
{
    readonly List<Parameter> parameters = new();
    ComputeDevice? bound;

    /// <summary>Creates a layer; the graph assigns a unique name when none is given.</summary>
    protected Layer(string? name) => Name = name ?? "";

    /// <summary>Unique name within its graph (e.g. <c>conv1</c>).</summary>
    public string Name { get; internal set; }

    /// <summary>
    /// The module path that prefixes this layer's keys in a state dict (torchvision's, e.g. <c>features.0</c>);
    /// <see cref="Name"/> when unset. Only names: initialisation stays keyed by <see cref="Name"/>.
    /// </summary>
    public string StateName { get => stateName ?? Name; set => stateName = value; }
    string? stateName;

    /// <summary>Type name as PyTorch users know it, e.g. <c>Conv2d</c>.</summary>
    public abstract string TypeName { get; }

    /// <summary>Number of inputs the layer takes.</summary>
    public virtual int InputCount => 1;

    /// <summary>Parameters, in a stable order (weight, then bias).</summary>
    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>Whether backward reads the forward inputs (the executor keeps them alive until then).</summary>
    public virtual bool BackwardNeedsInputs => true;

    /// <summary>Whether backward reads the forward output.</summary>
    public virtual bool BackwardNeedsOutput => false;

    /// <summary>True when the output is the input's memory reinterpreted (Flatten): no kernel, no copy.</summary>
    public virtual bool IsAlias => false;

    /// <summary>
    /// True when the layer can apply <paramref name="activation"/> in its own output epilogue (honouring
    /// <see cref="LayerIO.FusedActivation"/>). The planner asks this of the producer of every
    /// <see cref="IFusibleActivation"/> layer.
    /// </summary>
    public virtual bool CanFuse(FusedActivation activation) => false;

    /// <summary>True when training draws new random numbers every step (dropout): such a step cannot be replayed as a captured CUDA graph.</summary>
    public virtual bool UsesStepRandomness => false;

    /// <summary>Spatial window for receptive-field bookkeeping: null keeps the field, <see cref="Window.Global"/> makes it the whole input.</summary>
    public virtual Window? ReceptiveWindow => null;

    /// <summary>Multiply–accumulates of one forward pass over one sample.</summary>
    public virtual long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) => 0;

    /// <summary>The device the layer is bound to, once it has run.</summary>
    protected ComputeDevice Device => bound ?? throw new InvalidOperationException($"{Describe()} is not bound to a device");

    /// <summary>Declares a parameter.</summary>
    protected Parameter AddParameter(string name, Shape shape, Init init, int fanIn, int fanOut, bool noWeightDecay = false)
    {
        var p = new Parameter(this, name, shape, init, fanIn, fanOut, noWeightDecay);
        parameters.Add(p);
        return p;
    }

    /// <summary>Declares a buffer: persistent, checkpointed state that no optimiser touches (e.g. running statistics).</summary>
    protected Parameter AddBuffer(string name, Shape shape, Init init)
    {
        var p = new Parameter(this, name, shape, init, 1, 1, noWeightDecay: true) { Trainable = false };
        parameters.Add(p);
        return p;
    }

    /// <summary>The Philox key of this layer's random numbers for a seed: depends on the seed and the layer's name only.</summary>
    protected ulong RandomKey(int seed) => Philox.Key(seed, Name);

    /// <summary><c>Conv2d 'conv1'</c>, for messages.</summary>
    public string Describe() => string.IsNullOrEmpty(Name) ? TypeName : $"{TypeName} '{Name}'";

    /// <summary>Output shape for per-sample input shapes (no batch dimension), with the inputs checked.</summary>
    /// <exception cref="ShapeMismatchException">An input has the wrong shape; the message names the layer and both shapes.</exception>
    public Shape InferOutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs.Count != InputCount)
            throw new ArgumentException($"{Describe()}: expected {InputCount} input(s), got {inputs.Count}");
        return ComputeOutputShape(inputs);
    }

    /// <summary>Per-sample output shape; throw <see cref="ShapeMismatchException"/> through <see cref="Mismatch"/> on bad input.</summary>
    protected abstract Shape ComputeOutputShape(IReadOnlyList<Shape> inputs);

    /// <summary>A shape error that names this layer.</summary>
    protected ShapeMismatchException Mismatch(string expected, Shape actual, string? detail = null) =>
        new(Describe(), expected, actual.ToString(), detail);

    /// <summary>Binds to <paramref name="device"/>, loading kernels there (compiled once per accelerator).</summary>
    public void Bind(ComputeDevice device)
    {
        if (ReferenceEquals(bound, device)) return;
        LoadKernels(device);
        bound = device;
    }

    /// <summary>Fetches the layer's kernels from <paramref name="device"/>'s cache into fields.</summary>
    protected abstract void LoadKernels(ComputeDevice device);

    /// <summary>Runs the forward pass on the bound device.</summary>
    public void Forward(LayerIO io)
    {
        CheckRuntimeShapes(io);
        ForwardCore(io);
    }

    /// <summary>Runs the backward pass on the bound device.</summary>
    public void Backward(LayerIO io)
    {
        CheckRuntimeShapes(io);
        BackwardCore(io);
    }

    void CheckRuntimeShapes(LayerIO io)
    {
        if (bound is null) throw new InvalidOperationException($"{Describe()} ran before Bind");
        if (ReferenceEquals(io.CheckedBy, this)) return;
        if (io.Inputs.Length != InputCount)
            throw new ArgumentException($"{Describe()}: expected {InputCount} input(s), got {io.Inputs.Length}");
        var sample = io.Inputs.Select(i => DropBatch(i.Shape)).ToList();
        var expected = ComputeOutputShape(sample).WithBatch(io.Batch);
        if (io.Output.Shape != expected)
            throw new ShapeMismatchException(Describe(), $"output {expected}", io.Output.Shape.ToString());
        io.CheckedBy = this;
    }

    static Shape DropBatch(Shape s) => new(s.ToArray()[1..]);

    /// <summary>Computes the output from the inputs.</summary>
    protected abstract void ForwardCore(LayerIO io);

    /// <summary>Computes input gradients (where wanted) and parameter gradients from the output gradient.</summary>
    protected abstract void BackwardCore(LayerIO io);

    /// <inheritdoc/>
    public override string ToString() => Describe();
}

/// <summary>A square-or-not sliding window (for receptive fields), or the whole input.</summary>
/// <param name="KernelH">Window height.</param>
/// <param name="KernelW">Window width.</param>
/// <param name="StrideH">Vertical stride.</param>
/// <param name="StrideW">Horizontal stride.</param>
/// <param name="DilationH">Vertical dilation.</param>
/// <param name="DilationW">Horizontal dilation.</param>
/// <param name="IsGlobal">True when every output sees the whole input (fully connected layers).</param>
public sealed record Window(int KernelH, int KernelW, int StrideH, int StrideW, int DilationH = 1, int DilationW = 1, bool IsGlobal = false)
{
    /// <summary>Every output depends on the whole input.</summary>
    public static readonly Window Global = new(0, 0, 1, 1, 1, 1, true);
}

/// <summary>Padding of a convolution.</summary>
public readonly record struct Padding(int Top, int Left, bool IsSame)
{
    /// <summary>No padding.</summary>
    public static Padding Valid => new(0, 0, false);
    /// <summary>Pad so that the output is ceil(input / stride) (PyTorch's 'same' for stride 1; extra goes bottom/right).</summary>
    public static Padding Same => new(0, 0, true);
    /// <summary>Explicit symmetric padding.</summary>
    public static Padding Explicit(int h, int w) => new(h, w, false);
    /// <summary>Explicit symmetric padding on both axes.</summary>
    public static implicit operator Padding(int p) => new(p, p, false);
    /// <inheritdoc/>
    public override string ToString() => IsSame ? "same" : Top == Left ? Top.ToString() : $"({Top}, {Left})";
}

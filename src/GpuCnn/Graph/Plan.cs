using System.Collections.ObjectModel;

namespace GpuCnn.Graphs;

/// <summary>What a planned buffer holds.</summary>
public enum BufferRole
{
    /// <summary>A node's output (a graph input's batch included).</summary>
    Activation,
    /// <summary>A copy of an activation on another device that reads it (a transfer's target, or a host-fed input).</summary>
    Mirror,
    /// <summary>The gradient of an activation or mirror.</summary>
    Gradient,
    /// <summary>Where a gradient arriving from another device lands before it is added into the producer's gradient.</summary>
    Staging,
}

/// <summary>A planned buffer: a slice of its device's arena, live from step <paramref name="First"/> to <paramref name="Last"/>.</summary>
/// <param name="Name">The node's name; <c>@d</c> marks a mirror on device d, a leading <c>d</c> a gradient, <c>stage-</c> a staging buffer.</param>
/// <param name="Device">Device index.</param>
/// <param name="Offset">Offset in the device's arena, in elements.</param>
/// <param name="Size">Elements.</param>
/// <param name="First">First step that touches it (0 for anything written before the first step).</param>
/// <param name="Last">Last step that touches it (the step count for anything read after the last step).</param>
/// <param name="Role">What it holds.</param>
public sealed record PlanBuffer(string Name, int Device, long Offset, long Size, int First, int Last, BufferRole Role);

/// <summary>A graph input: its buffer, its gradient, and every buffer an upload fills.</summary>
/// <param name="Node">The input node.</param>
/// <param name="Buffer">Its buffer on its own device.</param>
/// <param name="Gradient">Its gradient, with <see cref="ExecutorOptions.InputGradients"/>.</param>
/// <param name="Uploads">Buffers filled from the host: its own first, then its copies on the other devices that read it.</param>
public sealed record PlanInput(Node Node, int Buffer, int? Gradient, IReadOnlyList<int> Uploads);

/// <summary>
/// What an <see cref="Executor"/> runs, decided without touching a device (see <see cref="Planner"/>): the steps in
/// order (forward and forward transfers, the loss, then backward with the gradient transfers), every buffer with
/// its place in its device's arena, and the arena size per device. Immutable.
/// </summary>
public sealed class Plan
{
    readonly IReadOnlyDictionary<Node, int> activations;
    readonly IReadOnlyDictionary<int, int> gradients;

    internal Plan(Graph graph, int batchSize, ExecutorOptions options, IReadOnlyList<Node> order, IReadOnlyList<PlanBuffer> buffers,
        IReadOnlyList<PlanStep> steps, int lossStep, IReadOnlyList<long> arenaSizes, IReadOnlyList<PlanInput> inputs,
        IReadOnlyDictionary<Node, int> activations, IReadOnlyDictionary<int, int> gradients, IReadOnlyDictionary<Node, Node> fused,
        IReadOnlyList<Transfer> transfers)
    {
        Graph = graph;
        BatchSize = batchSize;
        Options = options;
        Order = Array.AsReadOnly(order.ToArray());
        Output = graph.Output;
        Buffers = Array.AsReadOnly(buffers.ToArray());
        Steps = Array.AsReadOnly(steps.ToArray());
        LossIndex = lossStep;
        ArenaSizes = Array.AsReadOnly(arenaSizes.ToArray());
        Inputs = Array.AsReadOnly(inputs.ToArray());
        this.activations = new ReadOnlyDictionary<Node, int>(activations.ToDictionary());
        this.gradients = new ReadOnlyDictionary<int, int>(gradients.ToDictionary());
        Fused = new ReadOnlyDictionary<Node, Node>(fused.ToDictionary());
        Transfers = Array.AsReadOnly(transfers.ToArray());
    }

    /// <summary>The graph.</summary>
    public Graph Graph { get; }
    /// <summary>Rows per batch.</summary>
    public int BatchSize { get; }
    /// <summary>The options planned for.</summary>
    public ExecutorOptions Options { get; }
    /// <summary>The nodes the output depends on, in topological order.</summary>
    public IReadOnlyList<Node> Order { get; }
    /// <summary>The graph's output node when planned.</summary>
    public Node Output { get; }
    /// <summary>Every buffer; steps name them by index into this list.</summary>
    public IReadOnlyList<PlanBuffer> Buffers { get; }
    /// <summary>The steps in execution order: forward ones before <see cref="LossIndex"/>, backward ones after it.</summary>
    public IReadOnlyList<PlanStep> Steps { get; }
    /// <summary>Index of the loss step.</summary>
    public int LossIndex { get; }
    /// <summary>Arena size per device, in elements.</summary>
    public IReadOnlyList<long> ArenaSizes { get; }
    /// <summary>The graph inputs in order.</summary>
    public IReadOnlyList<PlanInput> Inputs { get; }
    /// <summary>Fused activations: each activation node and the producer that applies it in its epilogue.</summary>
    public IReadOnlyDictionary<Node, Node> Fused { get; }
    /// <summary>Copies between devices per training step, in step order (device names as given to the planner).</summary>
    public IReadOnlyList<Transfer> Transfers { get; }

    /// <summary>The buffer holding <paramref name="node"/>'s output (an alias or fused activation shares its producer's).</summary>
    public int Activation(Node node) =>
        activations.TryGetValue(node, out int b) ? b : throw new ArgumentException($"node '{node.Name}' is not in the plan");

    /// <summary>The buffer holding the gradient of <paramref name="node"/>'s output, or null when none is planned.</summary>
    public int? Gradient(Node node) => GradientOf(Activation(node));

    /// <summary>The gradient buffer of buffer <paramref name="buffer"/>, or null.</summary>
    public int? GradientOf(int buffer) => gradients.TryGetValue(buffer, out int g) ? g : null;

    /// <summary>Peak memory of activations and gradients over all devices (the arenas), in bytes.</summary>
    public long PeakBytes => ArenaSizes.Sum() * sizeof(float);

    /// <summary>What the same buffers would take with no reuse, in bytes.</summary>
    public long UnplannedBytes => Buffers.Sum(b => b.Size) * sizeof(float);
}

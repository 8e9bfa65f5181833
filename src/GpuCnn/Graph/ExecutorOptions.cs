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

/// <summary>Options of an <see cref="Executor"/> (and of the <see cref="Planner"/> that plans it).</summary>
public sealed record ExecutorOptions
{
    /// <summary>Plan for training (gradients and backward). False plans a lean forward-only arena.</summary>
    public bool Training { get; init; } = true;
    /// <summary>Also compute gradients with respect to the graph inputs (gradient checks, saliency).</summary>
    public bool InputGradients { get; init; }
    /// <summary>Seed of the layers' random numbers (dropout, stochastic pooling).</summary>
    public int Seed { get; init; }
    /// <summary>
    /// Fuse an activation (ReLU and the other <see cref="Layers.IFusibleActivation"/> layers) into the producer whose
    /// output only it reads, where the producer can apply it (<see cref="Layers.Layer.CanFuse"/>): the producer
    /// applies it in its epilogue, the activation shares its memory and launches no forward kernel, and its backward
    /// runs in place. Results are bit-identical to the unfused graph. On by default.
    /// </summary>
    public bool FuseActivations { get; init; } = true;
    /// <summary>
    /// Accumulate parameter gradients over <see cref="Executor.Backward"/> calls until <see cref="Executor.ZeroGrad"/>,
    /// as PyTorch does (the first backward after ZeroGrad still overwrites, which skips a read). Off by default: each
    /// backward overwrites them, which is what a plain training step wants.
    /// </summary>
    public bool AccumulateGradients { get; init; }
    /// <summary>
    /// Creates the loss the executor computes on the graph's output (one instance per executor, so per batch size).
    /// Softmax cross-entropy over integer labels by default.
    /// </summary>
    public Func<ILoss> Loss { get; init; } = DefaultLoss;

    static ILoss DefaultLoss() => new SoftmaxCrossEntropyLoss();
}

using GpuCnn.Kernels;

namespace GpuCnn.Graphs;

/// <summary>A step of a <see cref="Plan"/>: plain data naming nodes and buffers (indices into <see cref="Plan.Buffers"/>).</summary>
public abstract record PlanStep
{
    /// <summary>The buffers the step reads or writes; each must hold its value across this step.</summary>
    public abstract IEnumerable<int> Touches { get; }

    /// <summary>The step's name in profiles, e.g. <c>forward conv1</c>.</summary>
    public abstract string Describe(Plan plan);

    /// <summary>The runnable step over the executor's memory.</summary>
    internal abstract ExecutorStep Build(StepContext context);

    /// <summary>The copy between devices this step makes, or null.</summary>
    internal virtual Transfer? Crossing(IReadOnlyList<PlanBuffer> buffers, IReadOnlyList<string> devices) => null;
}

/// <summary>A layer's forward pass.</summary>
/// <param name="Node">The node.</param>
/// <param name="Inputs">Input buffers, in the node's input order (on the node's device).</param>
/// <param name="Output">Output buffer.</param>
/// <param name="Epilogue">The activation the layer applies to its output for a fused reader; disabled when none.</param>
public sealed record PlannedForward(Node Node, IReadOnlyList<int> Inputs, int Output, FusedActivation Epilogue) : PlanStep
{
    /// <inheritdoc/>
    public override IEnumerable<int> Touches => Inputs.Append(Output);
    /// <inheritdoc/>
    public override string Describe(Plan plan) => $"forward {Node.Name}";
    internal override ExecutorStep Build(StepContext context) => new LayerForwardStep(this, context);
}

/// <summary>A layer's backward pass.</summary>
/// <param name="Node">The node.</param>
/// <param name="Inputs">Forward input buffers.</param>
/// <param name="Output">Forward output buffer.</param>
/// <param name="OutputGradient">Gradient of the output.</param>
/// <param name="InputGradients">Per input, where its gradient goes, or null when it needs none.</param>
/// <param name="Betas">Per input: 0 when this step writes the input gradient first, 1 when it adds to what another consumer wrote.</param>
/// <param name="InPlace">A fused activation: its input gradient is its own output gradient, masked in place.</param>
public sealed record PlannedBackward(Node Node, IReadOnlyList<int> Inputs, int Output, int OutputGradient,
    IReadOnlyList<int?> InputGradients, IReadOnlyList<float> Betas, bool InPlace) : PlanStep
{
    /// <inheritdoc/>
    public override IEnumerable<int> Touches
    {
        get
        {
            var layer = Node.Layer!;
            yield return OutputGradient;
            if (layer.BackwardNeedsOutput) yield return Output;
            for (int k = 0; k < Inputs.Count; k++)
            {
                if (layer.BackwardNeedsInputs) yield return Inputs[k];
                if (InputGradients[k] is int g) yield return g;
            }
        }
    }

    /// <inheritdoc/>
    public override string Describe(Plan plan) => $"backward {Node.Name}";
    internal override ExecutorStep Build(StepContext context) => new LayerBackwardStep(this, context);
}

/// <summary>The loss on the output: writes the output gradient and adds to the loss statistics.</summary>
/// <param name="Output">The output node.</param>
/// <param name="Logits">Its buffer.</param>
/// <param name="Gradient">Its gradient buffer, or null when none is planned.</param>
public sealed record PlannedLoss(Node Output, int Logits, int? Gradient) : PlanStep
{
    /// <inheritdoc/>
    public override IEnumerable<int> Touches => Gradient is int g ? new[] { Logits, g } : new[] { Logits };
    /// <inheritdoc/>
    public override string Describe(Plan plan) => $"loss {Output.Name}";
    internal override ExecutorStep Build(StepContext context) => new LossStep(this, context);
}

/// <summary>An activation copied to another device that reads it.</summary>
/// <param name="Source">The activation.</param>
/// <param name="Target">Its mirror on the reading device.</param>
public sealed record PlannedTransfer(int Source, int Target) : PlanStep
{
    /// <inheritdoc/>
    public override IEnumerable<int> Touches => new[] { Source, Target };
    /// <inheritdoc/>
    public override string Describe(Plan plan) => $"TransferForward {plan.Buffers[Source].Name}";
    internal override ExecutorStep Build(StepContext context) => new TransferForwardStep(this, context);
    internal override Transfer Crossing(IReadOnlyList<PlanBuffer> b, IReadOnlyList<string> devices) =>
        new(b[Source].Name, devices[b[Source].Device], devices[b[Target].Device], false, b[Source].Size * sizeof(float));
}

/// <summary>
/// A mirror's gradient sent back to the producer's device once its last consumer's backward ran: it lands in
/// <paramref name="Staging"/> and is added into <paramref name="Target"/> as Target = Staging + Beta·Target.
/// </summary>
/// <param name="Source">The mirror's gradient.</param>
/// <param name="Staging">Landing buffer on the producer's device.</param>
/// <param name="Target">The producer's gradient.</param>
/// <param name="Beta">0 when this is the first write of the producer's gradient, 1 to accumulate.</param>
public sealed record PlannedGradientTransfer(int Source, int Staging, int Target, float Beta) : PlanStep
{
    /// <inheritdoc/>
    public override IEnumerable<int> Touches => new[] { Source, Staging, Target };
    /// <inheritdoc/>
    public override string Describe(Plan plan) => $"TransferBackward {plan.Buffers[Source].Name}";
    internal override ExecutorStep Build(StepContext context) => new TransferGradientBackStep(this, context);
    internal override Transfer Crossing(IReadOnlyList<PlanBuffer> b, IReadOnlyList<string> devices) =>
        new(b[Target].Name[1..], devices[b[Source].Device], devices[b[Staging].Device], true, b[Source].Size * sizeof(float));
}

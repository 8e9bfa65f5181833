using GpuCnn.Layers;

namespace GpuCnn.Graphs;

/// <summary>A layer's forward pass over planned buffers (its <see cref="LayerIO"/> is built once).</summary>
internal sealed class LayerForwardStep : ExecutorStep
{
    readonly Layer layer;
    readonly LayerIO io;
    readonly RunState state;

    public LayerForwardStep(PlannedForward step, StepContext c) : base(step.Describe(c.Plan))
    {
        var n = step.Node;
        layer = n.Layer!;
        state = c.State;
        io = new LayerIO
        {
            GradInputBeta = new float[step.Inputs.Count],
            Batch = c.Plan.BatchSize,
            Training = c.Plan.Options.Training,
            Seed = c.Plan.Options.Seed,
            FusedActivation = step.Epilogue,
            Inputs = step.Inputs.Select((b, k) => c.Tensor(b, n.Inputs[k].Shape)).ToArray(),
            Output = c.Tensor(step.Output, n.Shape),
        };
    }

    public override void Run()
    {
        io.Training = state.Training;
        io.Step = state.Step;
        io.SampleOffset = state.SampleOffset;
        layer.Forward(io);
    }
}

/// <summary>A layer's backward pass: input gradients (overwritten or accumulated as planned) and parameter gradients.</summary>
internal sealed class LayerBackwardStep : ExecutorStep
{
    readonly Layer layer;
    readonly LayerIO io;
    readonly RunState state;

    public LayerBackwardStep(PlannedBackward step, StepContext c) : base(step.Describe(c.Plan))
    {
        var n = step.Node;
        layer = n.Layer!;
        state = c.State;
        io = new LayerIO
        {
            GradInputBeta = step.Betas.ToArray(),
            Batch = c.Plan.BatchSize,
            Training = c.Plan.Options.Training,
            Seed = c.Plan.Options.Seed,
            Inputs = step.Inputs.Select((b, k) => c.Tensor(b, n.Inputs[k].Shape)).ToArray(),
            Output = c.Tensor(step.Output, n.Shape),
            GradOutput = c.Tensor(step.OutputGradient, n.Shape),
            GradInputs = step.InputGradients.Select((g, k) => g is int b ? c.Tensor(b, n.Inputs[k].Shape) : default).ToArray(),
        };
    }

    public override void Run()
    {
        io.Training = state.Training;
        io.Step = state.Step;
        io.SampleOffset = state.SampleOffset;
        io.ParamGradBeta = state.ParamGradBeta;
        layer.Backward(io);
    }
}

/// <summary>The loss on the output: the <see cref="ILoss"/> writes the output gradient and its statistics.</summary>
internal sealed class LossStep : ExecutorStep
{
    readonly StepContext context;
    readonly PlannedLoss step;

    public LossStep(PlannedLoss step, StepContext c) : base(step.Describe(c.Plan))
    {
        context = c;
        this.step = step;
    }

    public override void Run()
    {
        if (step.Gradient is not int g) throw new InvalidOperationException("this executor has no output gradient");
        context.Loss.Run(context.View(step.Logits), context.View(g));
    }
}

namespace GpuCnn.Graphs;

public sealed partial class Executor
{
    /// <summary>
    /// One training pass, as <see cref="Forward()"/>, <see cref="ComputeLoss"/> and <see cref="Backward"/> run it (same
    /// kernels, same order, same results), that hands each node's output to <paramref name="activation"/> right after
    /// its forward step and each node's output gradient to <paramref name="gradient"/> right before its backward step:
    /// the only moments the planned buffer is sure to hold it, since later steps reuse the memory. A fused activation's
    /// output is reported under the activation's node (its producer's pre-activation output is never stored).
    /// Every call downloads and synchronises once per node: for diagnostics every few steps, not for every step.
    /// </summary>
    public void RunObserved(Action<Node, float[]> activation, Action<Node, float[]> gradient)
    {
        if (!Options.Training) throw new InvalidOperationException("this executor was planned for inference only");
        var fusedInto = Plan.Fused.ToDictionary(kv => kv.Value, kv => kv.Key);
        Parameters.BindViews();
        NoteReplayedForward();
        for (int i = 0; i < Plan.LossIndex; i++)
        {
            steps[i].Run();
            if (Plan.Steps[i] is PlannedForward f)
                activation(f.Epilogue.Enabled != 0 && fusedInto.TryGetValue(f.Node, out var a) ? a : f.Node, Download(f.Output));
        }
        steps[Plan.LossIndex].Run();
        state.ParamGradBeta = Options.AccumulateGradients && Parameters.GradientsHeld ? 1f : 0f;
        for (int i = Plan.LossIndex + 1; i < steps.Length; i++)
        {
            if (Plan.Steps[i] is PlannedBackward b) gradient(b.Node, Download(b.OutputGradient));
            steps[i].Run();
        }
        Parameters.GradientsHeld = Options.AccumulateGradients;
    }
}

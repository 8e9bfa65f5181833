namespace GpuCnn.Graphs;

public sealed partial class Executor
{
    /// <summary>
    /// Runs the forward pass as <see cref="Forward()"/> does, but downloads each layer's output after its step, and returns
    /// the first node in forward order whose output holds a NaN or infinity (null when all are finite). A host
    /// synchronisation per layer: for diagnosing a step, not for training.
    /// </summary>
    public Node? ForwardFindingNonFinite()
    {
        Parameters.BindViews();
        NoteReplayedForward();
        Node? first = null;
        for (int i = 0; i < Plan.LossIndex; i++)
        {
            steps[i].Run();
            if (first is null && Plan.Steps[i] is PlannedForward f && !AllFinite(Download(f.Output))) first = f.Node;
        }
        return first;
    }

    /// <summary>Whether every value is finite (no NaN, no infinity).</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }
}

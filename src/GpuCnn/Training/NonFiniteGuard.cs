using GpuCnn.Data;
using GpuCnn.Graphs;

namespace GpuCnn.Training;

/// <summary>What training does when a step's loss, gradients or updated weights are not finite.</summary>
public enum NonFinitePolicy
{
    /// <summary>Stop with a <see cref="NonFiniteException"/>, the weights left at the last good step.</summary>
    Stop,
    /// <summary>Drop that step's update (as PyTorch's GradScaler does) and count it in <see cref="NonFiniteGuard.Skipped"/>.</summary>
    Skip,
}

/// <summary>A step produced a NaN or infinity; the message names the step and the first layer in forward order.</summary>
public sealed class NonFiniteException(string message, long step) : Exception(message)
{
    /// <summary>The one-based optimiser step (counted over the whole run) that went bad.</summary>
    public long Step { get; } = step;
}

/// <summary>
/// Finds non-finite steps without a host synchronisation per step. The loss sums the trainer already reads at progress
/// intervals turn NaN once any step's loss does, and at each interval the guard downloads the weights (which a
/// non-finite gradient or update poisons) and keeps them with the optimiser state as the last good snapshot. When
/// either check fails, it restores the snapshot and re-runs the interval's batches one step at a time, with per-layer
/// checks, to name the first bad step and layer; then it stops, or (skip mode) replays the interval without the bad
/// updates. The data order depends only on (seed, epoch), so the re-run (through <see cref="Trainer.NewLoader"/>, the
/// trainer's own loader settings) sees the same batches.
/// </summary>
public sealed class NonFiniteGuard(NonFinitePolicy policy)
{
    sealed record Snapshot(float[][] Values, float[][] OptimizerState, long OptimizerSteps, ulong ExecutorStep,
        Trainer.EpochTally Tally, long TotalSteps, int Losses);

    Snapshot? snap;
    DataLoader? loader;
    int epoch;

    /// <summary>Stop or skip.</summary>
    public NonFinitePolicy Policy { get; } = policy;
    /// <summary>Steps whose update was dropped (skip mode).</summary>
    public long Skipped { get; internal set; }
    /// <summary>One line per non-finite step found (skip mode keeps going; stop mode throws the first).</summary>
    public List<string> Events { get; } = new();

    internal void BeginEpoch(Trainer t, DataLoader l, int e)
    {
        (loader, epoch) = (l, e);
        if (BadParameter(t, out var values) is { } bad)
            throw new NonFiniteException($"before epoch {e + 1}: the weights of '{bad}' are not finite", t.TotalSteps);
        Take(t, values);
    }

    internal void AfterRead(Trainer t, double lossSum)
    {
        if (snap is null) return; // TrainEpoch was not entered through BeginEpoch (no loader to replay)
        if (!double.IsFinite(lossSum)) Replay(t);
        else if (t.Tally.Step - snap.Tally.Step >= t.ProgressInterval || t.Tally.Complete) Verify(t);
    }

    /// <summary>Checks the weights now and keeps them as the last good snapshot, or replays the steps since the last one.</summary>
    internal void Verify(Trainer t)
    {
        if (snap is null) return;
        if (BadParameter(t, out var values) is null) Take(t, values);
        else Replay(t);
    }

    static string? BadParameter(Trainer t, out float[][] values)
    {
        var pars = t.Graph.Parameters;
        values = new float[pars.Count][];
        string? bad = null;
        for (int i = 0; i < pars.Count; i++)
        {
            values[i] = t.Executor.Parameters.Get(pars[i]);
            if (bad is null && !Executor.AllFinite(values[i])) bad = pars[i].FullName;
        }
        return bad;
    }

    void Take(Trainer t, float[][] values) =>
        snap = new Snapshot(values, t.Optimizer.GetState().Select(a => a.ToArray()).ToArray(), t.Optimizer.Steps, t.Executor.Step,
            t.Tally.Copy(), t.TotalSteps, t.Losses.Count);

    void Restore(Trainer t, Snapshot s)
    {
        var pars = t.Graph.Parameters;
        for (int i = 0; i < pars.Count; i++) t.Executor.Parameters.Set(pars[i], s.Values[i]);
        t.Optimizer.SetState(s.OptimizerState, s.OptimizerSteps);
        t.Executor.Step = s.ExecutorStep;
        t.Tally = s.Tally.Copy();
        t.TotalStepsInternal = s.TotalSteps;
        t.Losses.RemoveRange(s.Losses, t.Losses.Count - s.Losses);
    }

    void Replay(Trainer t)
    {
        var s = snap!;
        // A data-parallel or accumulated step spans ranks and micro-batches, so one process cannot replay it alone.
        if (t.Parallel is not null)
            throw new NonFiniteException($"non-finite values in steps {s.TotalSteps + 1} to {t.TotalSteps} (epoch {epoch + 1}); run on one process " +
                                         "without --grad-accum, from the last checkpoint, to find the step and layer", t.TotalSteps);
        int target = t.Tally.Step;
        Restore(t, s);
        t.Executor.ReadStatistics();
        using var again = t.NewLoader(loader!.Data);
        int index = 0;
        foreach (var batch in again.Epoch(epoch))
        {
            if (index++ < s.Tally.Step) continue;
            if (t.Tally.Step >= target) break;
            t.Executor.SetInput(batch.Images);
            t.Executor.SetLabels(batch.Labels);
            string? bad = Step(t);
            t.Tally.Step++;
            t.TotalStepsInternal++;
            if (bad is null) continue;
            string line = $"step {t.TotalSteps} (epoch {epoch + 1}, batch {t.Tally.Step}): {bad}";
            if (Policy == NonFinitePolicy.Stop) throw new NonFiniteException($"non-finite values at {line}", t.TotalSteps);
            Skipped++;
            Events.Add(line + "; update skipped");
        }
        Take(t, t.Graph.Parameters.Select(p => t.Executor.Parameters.Get(p)).ToArray());
    }

    // One step with checks after every layer; returns what went bad (the update then not applied), or null.
    static string? Step(Trainer t)
    {
        var ex = t.Executor;
        var layer = ex.ForwardFindingNonFinite();
        ex.ComputeLoss();
        var (l, c, n) = ex.ReadStatistics();
        if (t.RecordLosses && n > 0) t.Losses.Add(l / n);
        if (layer is not null) return $"the output of layer '{layer.Name}' ({layer.Layer?.TypeName ?? "input"}) is not finite";
        if (!double.IsFinite(l)) return $"the loss is {l}";
        ex.Backward();
        var pars = t.Graph.Parameters;
        foreach (var p in pars.Where(p => p.Trainable))
            if (!Executor.AllFinite(ex.Parameters.GetGrad(p)))
                return $"the gradient of layer '{p.Owner.Name}' ({p.Owner.TypeName}, {p.FullName}) is not finite";
        var before = pars.Select(p => ex.Parameters.Get(p)).ToArray();
        var state = (t.Optimizer.GetState().Select(a => a.ToArray()).ToArray(), t.Optimizer.Steps);
        t.Clipper?.Clip();
        t.Optimizer.Step();
        for (int i = 0; i < pars.Count; i++)
        {
            if (Executor.AllFinite(ex.Parameters.Get(pars[i]))) continue;
            for (int j = 0; j < pars.Count; j++) ex.Parameters.Set(pars[j], before[j]);
            t.Optimizer.SetState(state.Item1, state.Item2);
            return $"the update of layer '{pars[i].Owner.Name}' ({pars[i].Owner.TypeName}, {pars[i].FullName}) overflowed";
        }
        t.Tally.LossSum += l; t.Tally.Correct += c; t.Tally.Count += n;
        return null;
    }
}

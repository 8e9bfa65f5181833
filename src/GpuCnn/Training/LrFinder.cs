using GpuCnn.Data;

namespace GpuCnn.Training;

/// <summary>What a learning-rate sweep measured.</summary>
/// <param name="Rates">The rate of each step, growing exponentially.</param>
/// <param name="Losses">The training loss of each step.</param>
/// <param name="Smoothed">The losses smoothed by a bias-corrected exponential moving average.</param>
/// <param name="Suggested">The rate where the smoothed loss falls fastest against log(rate); NaN when the sweep is too short to tell.</param>
/// <param name="SuggestedIndex">The step of <paramref name="Suggested"/> (−1 when none).</param>
/// <param name="Diverged">True when the sweep stopped early because the smoothed loss exceeded its minimum many times over.</param>
public sealed record LrFindResult(IReadOnlyList<double> Rates, IReadOnlyList<double> Losses, IReadOnlyList<double> Smoothed,
    double Suggested, int SuggestedIndex, bool Diverged);

/// <summary>
/// A learning-rate range test, as fastai's <c>lr_find</c> (after Smith 2017): train with a rate that grows exponentially
/// from <c>start</c> to <c>end</c>, one batch a step, record the loss, smooth it, stop once it diverges, and suggest the
/// rate of steepest descent of the smoothed loss. It trains the trainer's model: start a fresh one for the real run.
/// </summary>
public static class LrFinder
{
    /// <summary>Sweeps <paramref name="steps"/> rates from <paramref name="start"/> to <paramref name="end"/> on <paramref name="train"/>.</summary>
    /// <param name="trainer">Its optimiser's rate is set every step.</param>
    /// <param name="train">Training images, shuffled with the trainer's seed and cycled when there are fewer batches than steps.</param>
    /// <param name="start">First rate (&gt; 0).</param>
    /// <param name="end">Last rate (&gt; start).</param>
    /// <param name="steps">Rates to try (at least 2).</param>
    /// <param name="smoothing">β of the moving average (fastai: 0.98).</param>
    /// <param name="divergence">Stop when the smoothed loss exceeds this multiple of its minimum (fastai: 4).</param>
    public static LrFindResult Run(Trainer trainer, Dataset train, double start = 1e-7, double end = 10, int steps = 100,
        double smoothing = 0.98, double divergence = 4)
    {
        if (!(start > 0) || !(end > start)) throw new ArgumentException($"lr-find needs 0 < start < end, got {start:G3} and {end:G3}");
        if (steps < 2) throw new ArgumentException($"lr-find needs at least 2 steps, got {steps}");
        if (!(smoothing >= 0 && smoothing < 1)) throw new ArgumentException($"smoothing must be in [0, 1), got {smoothing}");
        var o = trainer.Options;
        if (train.Count < o.BatchSize) throw new ArgumentException($"lr-find needs at least one batch of {o.BatchSize} images, got {train.Count}");
        using var loader = o.TrainTransform is null
            ? new DataLoader(train, o.BatchSize, shuffle: true, seed: o.Seed, dropLast: true, mean: o.Mean, std: o.Std)
            : new DataLoader(train, o.BatchSize, shuffle: true, seed: o.Seed, dropLast: true, o.TrainTransform, workers: o.LoaderWorkers);
        var ex = trainer.Executor;
        var rates = new List<double>();
        var losses = new List<double>();
        var smoothed = new List<double>();
        double avg = 0, best = double.PositiveInfinity;
        bool diverged = false;
        ex.ReadStatistics();
        for (int epoch = 0; rates.Count < steps && !diverged; epoch++)
            foreach (var batch in loader.Epoch(epoch))
            {
                int i = rates.Count;
                if (i >= steps) break;
                double rate = start * Math.Pow(end / start, i / (double)(steps - 1));
                trainer.Optimizer.LearningRate = (float)rate;
                ex.SetInput(batch.Images);
                ex.SetLabels(batch.Labels);
                trainer.RunStep();
                var (l, _, n) = ex.ReadStatistics();
                double loss = l / Math.Max(1, n);
                avg = smoothing * avg + (1 - smoothing) * loss;
                double s = avg / (1 - Math.Pow(smoothing, i + 1));
                rates.Add(rate);
                losses.Add(loss);
                smoothed.Add(s);
                if (!double.IsFinite(s) || (i > 0 && s > divergence * best)) { diverged = true; break; }
                best = Math.Min(best, s);
            }
        var (index, suggested) = Suggest(rates, smoothed);
        return new LrFindResult(rates, losses, smoothed, suggested, index, diverged);
    }

    /// <summary>
    /// The rate of steepest descent: the most negative slope of the smoothed loss against log(rate), leaving out the
    /// first tenth of the sweep and its last five steps as fastai does (the start is noise, the end is divergence).
    /// </summary>
    public static (int Index, double Rate) Suggest(IReadOnlyList<double> rates, IReadOnlyList<double> smoothed)
    {
        int from = rates.Count / 10, to = rates.Count - 5; // slopes between points from..to
        int bestIndex = -1;
        double bestSlope = double.PositiveInfinity;
        for (int i = from; i + 1 < to; i++)
        {
            double slope = (smoothed[i + 1] - smoothed[i]) / (Math.Log(rates[i + 1]) - Math.Log(rates[i]));
            if (double.IsFinite(slope) && slope < bestSlope) { bestSlope = slope; bestIndex = i; }
        }
        return bestIndex < 0 ? (-1, double.NaN) : (bestIndex, rates[bestIndex]);
    }
}

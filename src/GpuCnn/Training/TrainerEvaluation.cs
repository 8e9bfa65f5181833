using GpuCnn.Data;
using GpuCnn.Graphs;

namespace GpuCnn.Training;

public sealed partial class Trainer
{
    /// <summary>
    /// Mean loss and accuracy on <paramref name="data"/> in eval mode (no dropout, running statistics); the last
    /// partial batch is padded and the padding ignored.
    /// </summary>
    public (double Loss, double Accuracy) Evaluate(Dataset data) =>
        Parallel is not null ? Parallel.Evaluate(data, EvaluateHere) : EvaluateHere(data);

    (double Loss, double Accuracy) EvaluateHere(Dataset data) =>
        Options.EvalTransform is null
            ? Evaluate(Executor, data, Options.Mean, Options.Std)
            : Evaluate(Executor, data, Options.EvalTransform);

    /// <summary>Mean loss and accuracy of an executor's model on <paramref name="data"/>, normalised by mean and std.</summary>
    public static (double Loss, double Accuracy) Evaluate(Executor executor, Dataset data, float mean, float std)
    {
        using var loader = new DataLoader(data, executor.BatchSize, shuffle: false, seed: 0, dropLast: false, mean: mean, std: std);
        return Evaluate(executor, loader);
    }

    /// <summary>Mean loss and accuracy of an executor's model on <paramref name="data"/> through a transform.</summary>
    public static (double Loss, double Accuracy) Evaluate(Executor executor, Dataset data, Augmentation transform)
    {
        using var loader = new DataLoader(data, executor.BatchSize, shuffle: false, seed: 0, dropLast: false, transform);
        return Evaluate(executor, loader);
    }

    static (double Loss, double Accuracy) Evaluate(Executor executor, DataLoader loader)
    {
        bool wasTraining = executor.TrainingMode;
        executor.TrainingMode = false;
        try
        {
            executor.ReadStatistics();
            foreach (var batch in loader.Epoch(0))
            {
                executor.SetInput(batch.Images);
                executor.SetLabels(batch.Labels);
                executor.Forward();
                executor.ComputeLoss();
            }
            var (l, c, n) = executor.ReadStatistics();
            return (l / Math.Max(1, n), c / Math.Max(1, n));
        }
        finally
        {
            executor.TrainingMode = wasTraining;
        }
    }
}

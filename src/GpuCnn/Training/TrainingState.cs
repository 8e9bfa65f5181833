namespace GpuCnn.Training;

/// <summary>
/// Where a training run stands, stored in a checkpoint's header so that <see cref="Trainer.Restore"/> continues
/// exactly: the next batch, the same shuffles, rates and random numbers. The data order and augmentation depend only
/// on (<see cref="Seed"/>, epoch, sample), so the seed and <see cref="Epoch"/> are the whole random state of the data;
/// the schedule is a function of the epoch (<see cref="Schedule"/> names it); the optimiser's buffers and step count
/// are stored beside the weights.
/// </summary>
public sealed record TrainingState
{
    /// <summary>Zero-based epoch in progress (equal to the epochs done when <see cref="StepInEpoch"/> is 0).</summary>
    public int Epoch { get; init; }
    /// <summary>Batches of <see cref="Epoch"/> already trained.</summary>
    public int StepInEpoch { get; init; }
    /// <summary>Optimiser steps trained in all (skipped non-finite steps included).</summary>
    public long TotalSteps { get; init; }
    /// <summary>The executor's step counter (per-step random numbers such as dropout masks).</summary>
    public ulong ExecutorStep { get; init; }
    /// <summary>Seed of the data order, augmentation and initialisation.</summary>
    public int Seed { get; init; }
    /// <summary>Images per step: a resumed run must use the same.</summary>
    public int BatchSize { get; init; }
    /// <summary>Batches per epoch when saved: a resumed run on other data is refused.</summary>
    public int BatchesPerEpoch { get; init; }
    /// <summary>The schedule's spec (<see cref="TrainOptions.Schedule"/>, or step:N:gamma).</summary>
    public string Schedule { get; init; } = "";
    /// <summary>Base learning rate of the schedule.</summary>
    public float BaseLearningRate { get; init; }
    /// <summary>Summed loss, correct predictions and samples of the epoch so far (its mean continues across a resume).</summary>
    public double LossSum { get; init; }
    /// <summary>See <see cref="LossSum"/>.</summary>
    public double Correct { get; init; }
    /// <summary>See <see cref="LossSum"/>.</summary>
    public double Count { get; init; }
    /// <summary>Seconds trained in the epoch so far.</summary>
    public double Seconds { get; init; }
    /// <summary>Per-step losses so far, when the run records them (<see cref="Trainer.RecordLosses"/>).</summary>
    public List<double> Losses { get; init; } = new();
    /// <summary>Steps whose update was dropped because the loss or a gradient was not finite.</summary>
    public long SkippedSteps { get; init; }
    /// <summary>Best held-out accuracy of a finished epoch so far (NaN before any).</summary>
    public double BestAccuracy { get; init; } = double.NaN;
    /// <summary>The finished epochs' results.</summary>
    public List<EpochResult> Results { get; init; } = new();
}

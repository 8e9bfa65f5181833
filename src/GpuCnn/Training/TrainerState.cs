using GpuCnn.Data;

namespace GpuCnn.Training;

public sealed partial class Trainer
{
    /// <summary>The epoch in progress: its batches done and its sums so far (they survive a checkpoint and resume).</summary>
    internal sealed class EpochTally
    {
        public int Epoch, Step, BatchesPerEpoch;
        public double LossSum, Correct, Count, Seconds;
        public bool Complete => Step >= BatchesPerEpoch;
        public EpochTally Copy() => (EpochTally)MemberwiseClone();
    }

    /// <summary>Optimiser steps trained so far in all (restored ones included).</summary>
    public long TotalSteps => totalSteps;

    internal long TotalStepsInternal { get => totalSteps; set => totalSteps = value; }
    internal EpochTally Tally { get => tally; set => tally = value; }

    /// <summary>Finished epochs, restored ones included.</summary>
    public List<EpochResult> History { get; private set; } = new();

    /// <summary>Writes checkpoints during <see cref="Fit"/> (every N steps, every epoch, the best); null writes none.</summary>
    public CheckpointPolicy? Checkpoints { get; set; }

    /// <summary>Clips the gradients before each update (<see cref="TrainOptions.ClipGradNorm"/>), or null.</summary>
    public GradClipper? Clipper { get; }

    /// <summary>Watches the statistics for non-finite values (see <see cref="TrainOptions.OnNonFinite"/>).</summary>
    public NonFiniteGuard Guard { get; }

    /// <summary>Steps whose update was dropped because the loss or a gradient was not finite (skip mode).</summary>
    public long SkippedSteps => Guard.Skipped;

    /// <summary>
    /// Reads the statistics the device holds into the epoch's sums and has the guard check the weights, so that a
    /// state captured next is complete and finite (a host synchronisation: for checkpoints).
    /// </summary>
    public void FlushStatistics()
    {
        ReadInterval();
        Guard.Verify(this);
    }

    /// <summary>Where training stands now; call <see cref="FlushStatistics"/> first so the epoch's sums are complete.</summary>
    public TrainingState CaptureState()
    {
        bool inEpoch = !tally.Complete && tally.Step > 0;
        return new TrainingState
        {
            Epoch = inEpoch ? tally.Epoch : EpochsDone,
            StepInEpoch = inEpoch ? tally.Step : 0,
            TotalSteps = totalSteps,
            ExecutorStep = Executor.Step,
            Seed = Options.Seed,
            BatchSize = Options.BatchSize,
            BatchesPerEpoch = tally.BatchesPerEpoch,
            Schedule = ScheduleSpec,
            BaseLearningRate = Options.LearningRate,
            LossSum = inEpoch ? tally.LossSum : 0,
            Correct = inEpoch ? tally.Correct : 0,
            Count = inEpoch ? tally.Count : 0,
            Seconds = inEpoch ? tally.Seconds : 0,
            Losses = RecordLosses ? new List<double>(Losses) : new(),
            SkippedSteps = Guard.Skipped,
            BestAccuracy = Checkpoints?.BestAccuracy ?? double.NaN,
            Results = new List<EpochResult>(History),
        };
    }

    string ScheduleSpec => Options.Schedule ?? (Options.LrStepEpochs > 0 ? $"step:{Options.LrStepEpochs}:{Options.LrGamma:R}" : "constant");

    /// <summary>
    /// Continues from <paramref name="state"/> (weights and optimiser state loaded separately, as
    /// <see cref="Serialization.Checkpoint.Load"/> does): the next <see cref="Fit"/> starts at the state's epoch and
    /// batch. Call it on a trainer that has not trained yet, with the options of the saved run.
    /// </summary>
    /// <exception cref="ArgumentException">The state was saved with another seed, batch size or schedule.</exception>
    public void Restore(TrainingState state, int batchesPerEpoch)
    {
        void Same<T>(string what, T saved, T now)
        {
            if (!EqualityComparer<T>.Default.Equals(saved, now))
                throw new ArgumentException($"the checkpoint was trained with {what} {saved}, this run has {now}; resume with the same settings");
        }
        Same("seed", state.Seed, Options.Seed);
        Same("batch size", state.BatchSize, Options.BatchSize);
        Same("schedule", state.Schedule, ScheduleSpec);
        Same("learning rate", state.BaseLearningRate, Options.LearningRate);
        if (state.StepInEpoch > 0) Same("batches per epoch", state.BatchesPerEpoch, batchesPerEpoch);
        EpochsDone = state.Epoch;
        totalSteps = state.TotalSteps;
        // A fresh executor does not advance its counter on its first training forward; the saved run would have.
        Executor.Step = state.TotalSteps > 0 ? state.ExecutorStep + 1 : 0;
        tally = new EpochTally
        {
            Epoch = state.Epoch, Step = state.StepInEpoch, BatchesPerEpoch = state.StepInEpoch > 0 ? batchesPerEpoch : 0,
            LossSum = state.LossSum, Correct = state.Correct, Count = state.Count, Seconds = state.Seconds,
        };
        Losses.Clear();
        Losses.AddRange(state.Losses);
        Guard.Skipped = state.SkippedSteps;
        if (Checkpoints is not null) Checkpoints.BestAccuracy = state.BestAccuracy;
        History = new List<EpochResult>(state.Results);
    }
}

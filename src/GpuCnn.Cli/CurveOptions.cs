using System.CommandLine;
using GpuCnn.Training;

namespace GpuCnn.Cli;

/// <summary>--plot, --log-csv and --tensorboard: where a training run's curves go, updated after every epoch.</summary>
sealed class CurveOptions
{
    public readonly Option<string?> Plot = OutputPath.Option("plot", "draw train and held-out loss and accuracy and the learning rate per epoch (ScottPlot), redrawn after every epoch", "FILE.png");
    public readonly Option<string?> Csv = OutputPath.Option("log-csv", "write one CSV row per epoch (and per recorded step under --steps)", "FILE");
    public readonly Option<string?> TensorBoard = OutputPath.Option("tensorboard", "write TensorBoard event files (scalars per epoch and per recorded step)", "DIR", directory: true);

    public void AddTo(Command c)
    {
        c.Add(Plot);
        c.Add(Csv);
        c.Add(TensorBoard);
    }

    /// <summary>Opens the sinks the command line asks for; with none, <see cref="CurveSinks.OnEpoch"/> does nothing.</summary>
    public CurveSinks Open(ParseResult p, Trainer trainer) =>
        new(trainer, p.GetValue(Plot), p.GetValue(Csv), p.GetValue(TensorBoard));
}

/// <summary>Receives each finished epoch and writes it to the plot, the CSV file and the TensorBoard log.</summary>
sealed class CurveSinks : IDisposable
{
    readonly Trainer trainer;
    readonly string? plot;
    readonly CsvLog? csv;
    readonly TensorBoardWriter? tb;
    readonly List<EpochResult> epochs = [];
    int stepsLogged;
    long stepsDone;

    public CurveSinks(Trainer trainer, string? plot, string? csv, string? tensorboard)
    {
        this.trainer = trainer;
        this.plot = plot;
        if (csv is not null) this.csv = new CsvLog(csv);
        if (tensorboard is not null) tb = new TensorBoardWriter(tensorboard);
        if (plot is not null) Written.Add($"training curves: {plot}");
        if (csv is not null) Written.Add($"csv log: {csv}");
        if (tb is not null) Written.Add($"tensorboard events: {tb.Path}");
    }

    /// <summary>One line per file written, for the end of the run.</summary>
    public List<string> Written { get; } = [];

    public void OnEpoch(EpochResult r)
    {
        epochs.Add(r);
        // Steps recorded under --steps: numbered from 1 across epochs.
        for (; stepsLogged < trainer.Losses.Count; stepsLogged++)
        {
            csv?.Step(stepsLogged + 1, r.Epoch, trainer.Losses[stepsLogged]);
            tb?.Scalars(stepsLogged + 1, [("train/step_loss", (float)trainer.Losses[stepsLogged])]);
        }
        stepsDone += r.Steps;
        csv?.Epoch(r, stepsDone);
        tb?.Scalars(stepsDone,
        [
            ("train/loss", (float)r.TrainLoss), ("train/accuracy", (float)r.TrainAccuracy), ("test/loss", (float)r.TestLoss),
            ("test/accuracy", (float)r.TestAccuracy), ("learning_rate", r.LearningRate), ("images_per_second", (float)r.ImagesPerSecond),
        ]);
        if (plot is not null) CurvePlot.Save(plot, epochs);
    }

    public void Dispose()
    {
        csv?.Dispose();
        tb?.Dispose();
    }
}

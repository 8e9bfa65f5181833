using GpuCnn.Data;
using GpuCnn.Training;
using Spectre.Console;

namespace GpuCnn.Cli;

/// <summary>
/// Training progress for the CLI: on a terminal a Spectre.Console bar per epoch (loss, accuracy, img/s, elapsed, ETA)
/// and a table of the epochs at the end; when the output is redirected (logs, CI, tests), the library's plain lines.
/// </summary>
static class LiveProgress
{
    /// <summary>Whether <paramref name="o"/> is an interactive terminal that can redraw a live display.</summary>
    public static bool IsTerminal(TextWriter o) =>
        ReferenceEquals(o, Console.Out) && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null
        && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <see cref="Trainer.Fit"/> with the display that suits <paramref name="o"/>.</summary>
    public static List<EpochResult> Fit(TextWriter o, Trainer trainer, Dataset train, Dataset test, int lastEpoch, Action<EpochResult> onEpoch)
    {
        if (!IsTerminal(o))
        {
            var printer = new ProgressPrinter(o, live: false);
            return trainer.Fit(train, test, printer, r => { printer.ReportEpoch(r, lastEpoch); onEpoch(r); });
        }
        List<EpochResult> results = [];
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var bars = new Dictionary<int, ProgressTask>();
                ProgressTask Bar(int epoch, int steps)
                {
                    if (!bars.TryGetValue(epoch, out var t))
                        bars[epoch] = t = ctx.AddTask($"epoch {epoch}/{lastEpoch}", maxValue: Math.Max(1, steps));
                    return t;
                }
                var progress = new Progress(p =>
                {
                    var t = Bar(p.Epoch, p.Steps);
                    t.Value = p.Step;
                    t.Description = $"epoch {p.Epoch}/{lastEpoch}  loss {p.Loss:F4}  acc {p.Accuracy * 100:F2}%  {ProgressPrinter.FormatRate(p.ImagesPerSecond)} img/s";
                });
                results = trainer.Fit(train, test, progress, r =>
                {
                    var t = Bar(r.Epoch, r.Steps);
                    t.Description = $"epoch {r.Epoch}/{lastEpoch}  loss {r.TrainLoss:F4}  acc {r.TrainAccuracy * 100:F2}%  [green]held-out acc {r.TestAccuracy * 100:F2}%[/]";
                    t.Value = t.MaxValue;
                    t.StopTask();
                    onEpoch(r);
                });
            });
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("epoch", "train loss", "train acc", "test loss", "test acc", "img/s", "seconds", "lr");
        foreach (var c in table.Columns.Skip(1)) c.RightAligned();
        foreach (var r in results)
            table.AddRow($"{r.Epoch}", $"{r.TrainLoss:F4}", $"{r.TrainAccuracy * 100:F2}%", $"{r.TestLoss:F4}", $"{r.TestAccuracy * 100:F2}%",
                ProgressPrinter.FormatRate(r.ImagesPerSecond), $"{r.Seconds:F1}", $"{r.LearningRate:G3}");
        AnsiConsole.Write(table);
        return results;
    }

    // Synchronous IProgress: Progress<T> would post to the thread pool and reorder updates.
    sealed class Progress(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}

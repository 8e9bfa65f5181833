namespace GpuCnn.Training;

/// <summary>
/// Prints training progress: a live, redrawn bar on a terminal; plain lines (about one per 10% of an epoch)
/// when the output is redirected to a file or pipe, so logs stay readable; and, through <see cref="ReportEpoch"/>,
/// one line per epoch with the held-out loss and accuracy.
/// </summary>
public sealed class ProgressPrinter : IProgress<TrainProgress>
{
    readonly TextWriter writer;
    readonly bool live;
    int lastDecile = -1;

    /// <summary>Creates a printer; <paramref name="live"/> defaults to whether stdout is a terminal.</summary>
    public ProgressPrinter(TextWriter? writer = null, bool? live = null)
    {
        this.writer = writer ?? Console.Out;
        this.live = live ?? !Console.IsOutputRedirected;
    }

    /// <inheritdoc/>
    public void Report(TrainProgress p)
    {
        string stats = $"loss {p.Loss:F4}  acc {p.Accuracy * 100:F2}%  {FormatRate(p.ImagesPerSecond)} img/s";
        if (live)
        {
            const int width = 30;
            int filled = p.Steps == 0 ? width : p.Step * width / p.Steps;
            writer.Write($"\repoch {p.Epoch}/{p.Epochs} [{new string('#', filled)}{new string('.', width - filled)}] {p.Step}/{p.Steps}  {stats}   ");
            if (p.Step == p.Steps) writer.WriteLine();
            writer.Flush();
            return;
        }
        int decile = p.Steps == 0 ? 10 : p.Step * 10 / p.Steps;
        if (p.Step == 1 || decile != lastDecile || p.Step == p.Steps)
        {
            if (decile == lastDecile && p.Step != p.Steps) return;
            lastDecile = p.Step == p.Steps ? -1 : decile;
            writer.WriteLine($"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.Steps}  {stats}");
        }
    }

    /// <summary>Prints the end-of-epoch line (<see cref="FormatEpoch"/>); pass it as <see cref="Trainer.Fit"/>'s onEpoch.</summary>
    /// <param name="result">The finished epoch.</param>
    /// <param name="lastEpoch">The last epoch of the run (<see cref="Trainer.LastEpoch(int)"/>).</param>
    public void ReportEpoch(EpochResult result, int lastEpoch)
    {
        writer.WriteLine(FormatEpoch(result, lastEpoch));
        writer.Flush();
    }

    /// <summary>"epoch 2/5: train loss … acc … | test loss … acc … | img/s, seconds, lr": training and held-out results.</summary>
    public static string FormatEpoch(EpochResult r, int lastEpoch) =>
        $"epoch {r.Epoch}/{lastEpoch}: train loss {r.TrainLoss:F4} acc {r.TrainAccuracy * 100:F2}% | " +
        $"test loss {r.TestLoss:F4} acc {r.TestAccuracy * 100:F2}% | {r.ImagesPerSecond:G4} img/s, {r.Seconds:F1} s, lr {r.LearningRate:G3}";

    /// <summary>
    /// A rate for people: whole numbers from 100 img/s, and at least three significant figures below that, so a slow
    /// run (AlexNet on a CPU) does not read 0 img/s.
    /// </summary>
    public static string FormatRate(double imagesPerSecond) =>
        imagesPerSecond >= 100 || imagesPerSecond == 0 ? imagesPerSecond.ToString("F0")
        : imagesPerSecond >= 10 ? imagesPerSecond.ToString("F1")
        : imagesPerSecond >= 1 ? imagesPerSecond.ToString("F2")
        : imagesPerSecond >= 0.1 ? imagesPerSecond.ToString("F3") : imagesPerSecond.ToString("G3");
}

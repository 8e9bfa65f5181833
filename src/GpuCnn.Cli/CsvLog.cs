using System.Globalization;
using GpuCnn.Training;

namespace GpuCnn.Cli;

/// <summary>
/// A CSV training log: one row per epoch (kind "epoch") and per recorded step (kind "step"), flushed after each
/// epoch so that it can be read while training runs. Columns a row does not have are empty.
/// </summary>
sealed class CsvLog : IDisposable
{
    /// <summary>The header row.</summary>
    public const string Header = "kind,epoch,step,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,images_per_second,seconds";

    readonly StreamWriter w;

    public CsvLog(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        w = new StreamWriter(path, append: false) { NewLine = "\n" };
        w.WriteLine(Header);
        w.Flush();
    }

    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    public void Step(long step, int epoch, double loss) => w.WriteLine($"step,{epoch},{step},{F(loss)},,,,,,");

    public void Epoch(EpochResult r, long step)
    {
        w.WriteLine($"epoch,{r.Epoch},{step},{F(r.TrainLoss)},{F(r.TrainAccuracy)},{F(r.TestLoss)},{F(r.TestAccuracy)},{F(r.LearningRate)},{F(r.ImagesPerSecond)},{F(r.Seconds)}");
        w.Flush();
    }

    public void Dispose() => w.Dispose();
}

using GpuCnn.Training;
using ScottPlot;

namespace GpuCnn.Cli;

/// <summary>Draws a run's curves per epoch with ScottPlot 5: loss, accuracy and learning rate, one panel each.</summary>
static class CurvePlot
{
    /// <summary>Width and height of the picture in pixels.</summary>
    public const int Width = 800, Height = 900;

    /// <summary>Writes the PNG (to a temporary name first, so a watcher never sees half a file).</summary>
    public static void Save(string path, IReadOnlyList<EpochResult> epochs)
    {
        double[] x = epochs.Select(e => (double)e.Epoch).ToArray();
        var multi = new Multiplot();
        multi.AddPlots(3);
        var (loss, acc, lr) = (multi.GetPlot(0), multi.GetPlot(1), multi.GetPlot(2));
        Line(loss, x, epochs.Select(e => e.TrainLoss), "train loss");
        Line(loss, x, epochs.Select(e => e.TestLoss), "held-out loss");
        loss.Title("loss");
        Line(acc, x, epochs.Select(e => e.TrainAccuracy * 100), "train accuracy %");
        Line(acc, x, epochs.Select(e => e.TestAccuracy * 100), "held-out accuracy %");
        acc.Title("accuracy (%)");
        Line(lr, x, epochs.Select(e => (double)e.LearningRate), "learning rate");
        lr.Title("learning rate");
        lr.XLabel("epoch");
        foreach (var p in new[] { loss, acc, lr })
        {
            // Epochs are whole numbers: one tick each, not ScottPlot's fractional default.
            p.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(Math.Max(1, Math.Ceiling(x.Length / 10.0)));
            p.ShowLegend(p == acc ? Alignment.LowerRight : Alignment.UpperRight);
        }
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string tmp = full + ".tmp.png";
        multi.SavePng(tmp, Width, Height);
        File.Move(tmp, full, overwrite: true);
    }

    static void Line(Plot plot, double[] x, IEnumerable<double> y, string label)
    {
        // NaN (no held-out set) would break the axis limits: leave such a series out.
        double[] ys = y.ToArray();
        if (ys.Any(v => !double.IsFinite(v))) return;
        var s = plot.Add.Scatter(x, ys);
        s.LegendText = label;
        s.MarkerSize = 6;
    }
}

using GpuCnn.Data;
using GpuCnn.Models;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests.Learning;

/// <summary>The learning-rate range test: its sweep, its suggestion, and the command.</summary>
public class LrFinderTests
{
    /// <summary>A loss that falls fastest (against log rate) at a known point: the suggestion is that point.</summary>
    [Fact]
    public void Suggestion_is_the_steepest_descent_of_the_smoothed_loss()
    {
        var rates = Enumerable.Range(0, 60).Select(i => 1e-6 * Math.Pow(10, i / 10.0)).ToList();
        // A logistic drop centred on 1e-3 (i = 30), then a rise: the steepest slope is between i = 29 and 30 or 30 and 31.
        var loss = rates.Select((r, i) => 2.3 - 2.0 / (1 + Math.Exp(-(i - 30.5) / 2.0)) + (i > 50 ? (i - 50) * 0.5 : 0)).ToList();
        var (index, rate) = LrFinder.Suggest(rates, loss);
        Assert.Equal(30, index);
        Assert.Equal(rates[30], rate);
        Assert.Equal((-1, double.NaN), LrFinder.Suggest(rates.Take(6).ToList(), loss.Take(6).ToList()));
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Sweep_is_exponential_smoothed_and_stops_when_the_loss_diverges(string backend)
    {
        var dev = Backends.Get(backend);
        var data = SyntheticData.Create(64, 1, 28, 28, 10, 5);
        using var t = new Trainer(LeNet5.Build(), dev, new TrainOptions { BatchSize = 16, Seed = 2, Mean = 0.5f, Std = 0.25f });
        var r = LrFinder.Run(t, data, 1e-4, 1e4, steps: 40);
        Assert.True(r.Diverged, "a rate of 1e4 must make the loss diverge");
        Assert.True(r.Rates.Count < 40);
        for (int i = 0; i < r.Rates.Count; i++) Assert.Equal(1e-4 * Math.Pow(1e8, i / 39.0), r.Rates[i], 1e-9 * r.Rates[i]);
        Assert.Equal(r.Losses[0], r.Smoothed[0], 9); // bias-corrected: the first smoothed value is the first loss
        Assert.Throws<ArgumentException>(() => LrFinder.Run(t, data, 1e-2, 1e-3));
    }

    [Fact]
    public void Command_prints_a_suggestion_and_plots()
    {
        string dir = Path.Combine(Path.GetTempPath(), "gpucnn-lrfind-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string png = Path.Combine(dir, "lr.png"), json = Path.Combine(dir, "lr.json");
            var (code, o, err) = CliRunner.Run("lr-find", "lenet5", "--device", "cpu", "--data", "synthetic", "--synthetic-count", "256",
                "--batch-size", "16", "--steps", "30", "--start-lr", "1e-4", "--end-lr", "1", "--plot", png, "--metrics", json);
            Assert.True(code == 0, err);
            Assert.Matches(@"suggested learning rate: [0-9.e-]+ \(the recipe's default at this batch size: 0\.0075\)", o);
            Assert.Contains("<- steepest descent", o);
            Assert.True(new FileInfo(png).Length > 1000);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
            Assert.Equal(30, doc.RootElement.GetProperty("rates").GetArrayLength());
            var bad = CliRunner.Run("lr-find", "lenet5", "--start-lr", "1", "--end-lr", "0.1");
            Assert.Equal(2, bad.Code);
            Assert.Contains("0 < --start-lr < --end-lr", bad.Err);
        }
        finally { Directory.Delete(dir, true); }
    }
}

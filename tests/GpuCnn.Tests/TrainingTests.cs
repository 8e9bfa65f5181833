using GpuCnn.Data;
using GpuCnn.Models;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests;

public class TrainingTests
{
    /// <summary>LeNet-5 learns real digits on every back end: a 1,024-image subset, three epochs.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void LeNet5_learns_a_subset_of_mnist(string backend)
    {
        var (train, test) = Mnist.LoadBundled();
        var opts = new TrainOptions { Epochs = 3, BatchSize = 32, LearningRate = 0.02f, Seed = 7, LrStepEpochs = 0 };
        using var trainer = new Trainer(LeNet5.Build(), Backends.Get(backend), opts);
        var before = trainer.Evaluate(test.Subset(0, 500));
        var results = trainer.Fit(train.Subset(0, 1024), test.Subset(0, 500));
        Assert.Equal(3, results.Count);
        Assert.True(results[^1].TrainLoss < results[0].TrainLoss, "training loss should fall");
        Assert.True(results[^1].TestAccuracy > 0.85, $"held-out accuracy {results[^1].TestAccuracy:P1} after 3 epochs on 1,024 digits (was {before.Accuracy:P1} untrained)");
        Assert.True(before.Accuracy < 0.3);
    }

    /// <summary>The same seed gives the same run, step for step.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Training_is_deterministic_for_a_seed(string backend)
    {
        var (train, _) = Mnist.LoadBundled();
        List<double> Run()
        {
            var opts = new TrainOptions { Epochs = 1, BatchSize = 16, Seed = 3, MaxSteps = 4 };
            using var t = new Trainer(LeNet5.Build(), Backends.Get(backend), opts) { RecordLosses = true };
            t.Fit(train.Subset(0, 256), null);
            return t.Losses;
        }
        var a = Run();
        Assert.Equal(4, a.Count);
        Assert.Equal(a, Run());
    }

    /// <summary>
    /// With <c>MaxSteps</c> the progress names the epoch in which the steps run out as the last one, and counts
    /// only the steps that will run in it.
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Progress_reports_the_epochs_and_steps_that_max_steps_leaves(string backend)
    {
        var (train, _) = Mnist.LoadBundled();
        var reports = new List<TrainProgress>();
        var opts = new TrainOptions { Epochs = 10, BatchSize = 16, Seed = 3, MaxSteps = 20 };
        using var t = new Trainer(LeNet5.Build(), Backends.Get(backend), opts) { ProgressInterval = 1 };
        Assert.Equal(2, t.LastEpoch(256));
        using (var unlimited = new Trainer(LeNet5.Build(), Backends.Get(backend), opts with { MaxSteps = 0 }))
            Assert.Equal(10, unlimited.LastEpoch(256));
        var results = t.Fit(train.Subset(0, 256), null, new ListProgress(reports)); // 16 steps an epoch
        Assert.Equal(2, results.Count);
        Assert.Equal(20, reports.Count);
        Assert.All(reports, r => Assert.Equal(2, r.Epochs));
        Assert.Equal((1, 16, 16), (reports[15].Epoch, reports[15].Step, reports[15].Steps));
        Assert.Equal((2, 4, 4), (reports[^1].Epoch, reports[^1].Step, reports[^1].Steps));
    }

    /// <summary>A slow run's rate keeps three significant figures instead of rounding to 0 img/s.</summary>
    [Fact]
    public void Progress_rate_keeps_significant_figures_when_slow()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        try
        {
            Assert.Equal("0.270", ProgressPrinter.FormatRate(0.2702));
            Assert.Equal("1.000", ProgressPrinter.FormatRate(0.9996));
            Assert.Equal("0.00123", ProgressPrinter.FormatRate(0.001234));
            Assert.Equal("4.50", ProgressPrinter.FormatRate(4.5));
            Assert.Equal("42.4", ProgressPrinter.FormatRate(42.37));
            Assert.Equal("52500", ProgressPrinter.FormatRate(52_500.4));
            var w = new StringWriter();
            new ProgressPrinter(w, live: false).Report(new TrainProgress(1, 1, 1, 1, 2.5, 0.25, 0.2702));
            Assert.Equal("epoch 1/1 step 1/1  loss 2.5000  acc 25.00%  0.270 img/s", w.ToString().TrimEnd());
        }
        finally { System.Globalization.CultureInfo.CurrentCulture = culture; }
    }

    sealed class ListProgress(List<TrainProgress> list) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => list.Add(value);
    }

    /// <summary>The full acceptance run: 10 epochs over 8,000 digits must reach 97.5 % on the 2,000 held out. Minutes on CPU.</summary>
    [SkippableFact, Trait("Category", "Long")]
    public void LeNet5_reaches_97_5_percent_in_ten_epochs()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1",
            "long run (about 4 minutes on 2 cores): set GPUCNN_LONG_TESTS=1 to include it");
        var (train, test) = Mnist.LoadBundled();
        using var trainer = new Trainer(LeNet5.Build(), Backends.Get("cpu"), new TrainOptions());
        var results = trainer.Fit(train, test);
        Assert.True(results[^1].TestAccuracy >= 0.975, $"test accuracy {results[^1].TestAccuracy:P2}");
    }
}

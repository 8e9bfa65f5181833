using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The library's plain progress printer reports the held-out accuracy of each epoch, as the CLI does.</summary>
public class ProgressTests
{
    [Fact]
    public void ReportEpoch_prints_training_and_held_out_results_on_one_line()
    {
        var w = new StringWriter();
        var p = new ProgressPrinter(w, live: false);
        p.ReportEpoch(new EpochResult(2, 0.51234, 0.8125, 0.43219, 0.875, 1234.0, 3.0, 0.01f, 40), 5);
        Assert.Equal("epoch 2/5: train loss 0.5123 acc 81.25% | test loss 0.4322 acc 87.50% | 1234 img/s, 3.0 s, lr 0.01",
            w.ToString().TrimEnd());
    }
}

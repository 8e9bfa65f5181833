using System.Text.RegularExpressions;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary><c>gpucnn bench --profile</c> lists every step of the schedule, the optimiser update and the launches per step.</summary>
public class BenchProfileTests
{
    [Fact]
    public void Bench_profile_reports_the_schedule_the_update_and_the_launches()
    {
        var (code, o, err) = CliRunner.Run("bench", "lenet5", "--device", "cpu", "--batch-size", "4", "--steps", "1", "--warmup", "1", "--profile");
        Assert.True(code == 0, err);
        Assert.Contains("per-step profile (median of 5", o);
        foreach (var step in new[] { "forward conv1", "loss fc3", "backward relu1", "backward conv1", "update (sgd)" })
            Assert.Matches($@"\n  {Regex.Escape(step)} +\d+\.\d{{3}} ms", o);
        // LeNet-5 fused: 5 forward products (+ pools), the loss and its statistics, the backward steps and one update.
        var launches = int.Parse(Regex.Match(o, @"launches per training step: (\d+)").Groups[1].Value);
        Assert.InRange(launches, 10, 40);
    }
}

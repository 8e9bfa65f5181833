using System.Text.Json;
using GpuCnn.Graphs;
using GpuCnn.Serialization;
using GpuCnn.Tests.Data;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Resilience;

/// <summary>LeNet-5 at a learning rate of 1e6 diverges within three steps: the run must say where, and keep good files.</summary>
public class NonFiniteTests
{
    static readonly string[] Diverging = ["train", "lenet5", "--device", "cpu", "--lr", "1e6", "--train-limit", "640"];

    [Fact]
    public void StopModeExitsWithItsCodeNamesTheStepAndLayerAndKeepsTheLastGoodCheckpoint()
    {
        using var dir = new TempDir();
        string ck = dir.File("nan.ck");
        var (code, output, err) = CliRunner.Run([.. Diverging, "--save", ck, "--save-every", "1"]);
        Assert.Equal(GpuCnn.Cli.CommandLine.NonFiniteExitCode, code);
        Assert.Matches(@"^error: non-finite values at step (\d+) \(epoch 1, batch \1\): the \w+ of layer '\w+' \(\w+[^)]*\) is not finite\s*$", err);
        Assert.DoesNotContain("saved checkpoint", output);
        long bad = long.Parse(System.Text.RegularExpressions.Regex.Match(err, @"step (\d+)").Groups[1].Value);

        // The checkpoint on disk is the step before the bad one, and every value in it is finite.
        var header = Checkpoint.ReadHeader(ck);
        Assert.Equal(bad - 1, header.Training!.TotalSteps);
        var graph = Models.ModelZoo.Create("lenet5", 10, 28, 1);
        using var device = Devices.DeviceManager.Open("cpu");
        using var store = new ParameterStore(graph, [device]);
        Checkpoint.Load(ck, store);
        Assert.All(graph.Parameters, p => Assert.True(Executor.AllFinite(store.Get(p)), p.FullName));
    }

    [Fact]
    public void SkipModeDropsTheBadUpdatesCountsThemAndFinishes()
    {
        using var dir = new TempDir();
        var (code, output, err) = CliRunner.Run(["train", "lenet5", "--device", "cpu", "--lr", "1e6", "--data", "synthetic", "--synthetic-count", "256",
            "--epochs", "1", "--on-nonfinite", "skip", "--metrics", dir.File("m.json")]);
        Assert.True(code == 0, err);
        var m = JsonDocument.Parse(File.ReadAllText(dir.File("m.json"))).RootElement;
        long skipped = m.GetProperty("skipped_steps").GetInt64();
        Assert.InRange(skipped, 1, m.GetProperty("steps").GetInt64());
        Assert.Equal(skipped, output.Split('\n').Count(l => l.StartsWith("non-finite: step ") && l.TrimEnd().EndsWith("update skipped")));
    }

    [Fact]
    public void TheSameSeedGivesTheSameWeightsAndLossesTwice()
    {
        using var dir = new TempDir();
        string[] run = ["train", "lenet5", "--device", "cpu", "--steps", "6", "--data", "synthetic", "--synthetic-count", "384", "--seed", "2"];
        var (c1, _, e1) = CliRunner.Run([.. run, "--save", dir.File("a.ck"), "--metrics", dir.File("a.json")]);
        var (c2, _, e2) = CliRunner.Run([.. run, "--save", dir.File("b.ck"), "--metrics", dir.File("b.json")]);
        Assert.True(c1 == 0 && c2 == 0, e1 + e2);
        Assert.Equal(ResumeTests.Tensors(dir.File("a.ck")), ResumeTests.Tensors(dir.File("b.ck")));
        Assert.Equal(JsonDocument.Parse(File.ReadAllText(dir.File("a.json"))).RootElement.GetProperty("losses").GetRawText(),
            JsonDocument.Parse(File.ReadAllText(dir.File("b.json"))).RootElement.GetProperty("losses").GetRawText());
    }
}

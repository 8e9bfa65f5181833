using System.Diagnostics;
using System.Text.Json;
using GpuCnn.Serialization;
using GpuCnn.Tests.Data;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Resilience;

/// <summary>Checkpoints during training and exact resume, through the CLI as a user runs it.</summary>
public class ResumeTests
{
    // Synthetic data keeps the child process short; three epochs of 10 steps cross epoch boundaries.
    static readonly string[] Base =
    [
        "train", "lenet5", "--device", "cpu", "--data", "synthetic", "--synthetic-count", "160", "--image-size", "28", "--classes", "10",
        "--batch-size", "16", "--epochs", "3", "--optimizer", "adam", "--lr", "0.002",
    ];
    static readonly string[] Train = [.. Base, "--steps", "30", "--seed", "5"];

    static string[] With(params string[] more) => [.. Train, .. more];

    /// <summary>Everything after the header: the weights and the optimiser state, byte for byte.</summary>
    internal static byte[] Tensors(string checkpoint)
    {
        var b = File.ReadAllBytes(checkpoint);
        int header = BitConverter.ToInt32(b, 12);
        return b[(16 + header)..^4];
    }

    static List<double> Losses(string metrics) =>
        JsonDocument.Parse(File.ReadAllText(metrics)).RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();

    [Fact]
    public void SigkillAfterACheckpointThenResumeMatchesAnUninterruptedRunBitForBit()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliRunner.Run(With("--save", dir.File("ref.ck"), "--metrics", dir.File("ref.json")));
        Assert.True(code == 0, err);

        // The interrupted run: a real child process, killed at a seeded random moment after its first checkpoint.
        string ck = dir.File("run.ck"), cli = Path.Combine(AppContext.BaseDirectory, "GpuCnn.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(cli);
        foreach (var a in With("--save", ck, "--save-every", "4")) psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "1";
        using var child = Process.Start(psi)!;
        child.OutputDataReceived += (_, _) => { };
        child.ErrorDataReceived += (_, _) => { };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        var wait = Stopwatch.StartNew();
        while (!File.Exists(ck) && !child.HasExited && wait.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(5);
        Assert.True(File.Exists(ck), "the child wrote no checkpoint");
        Thread.Sleep(new Random(14).Next(0, 150));
        bool killed = !child.HasExited;
        if (killed) child.Kill(); // SIGKILL on Unix
        child.WaitForExit();
        Assert.True(killed, "the child finished before it was killed");
        var state = Checkpoint.ReadHeader(ck).Training!;
        Assert.InRange(state.TotalSteps, 4, 29);
        Assert.True(state.TotalSteps % 4 == 0 || state.StepInEpoch == 0, $"checkpoint at step {state.TotalSteps}"); // --save-every or an epoch's end

        (code, var output, err) = CliRunner.Run(With("--save", ck, "--save-every", "4", "--resume", ck, "--metrics", dir.File("run.json")));
        Assert.True(code == 0, err);
        Assert.Contains($"resumed from {ck}: epoch {state.Epoch + 1}, batch {state.StepInEpoch}, step {state.TotalSteps}", output);
        Assert.Equal(Losses(dir.File("ref.json")), Losses(dir.File("run.json")));
        Assert.Equal(30, Losses(dir.File("run.json")).Count);
        Assert.Equal(Tensors(dir.File("ref.ck")), Tensors(ck));
        var (x, y) = (JsonDocument.Parse(File.ReadAllText(dir.File("ref.json"))).RootElement, JsonDocument.Parse(File.ReadAllText(dir.File("run.json"))).RootElement);
        foreach (var key in new[] { "train_loss", "test_loss", "test_accuracy", "steps", "epochs" })
            Assert.Equal(x.GetProperty(key).GetRawText(), y.GetProperty(key).GetRawText());
    }

    [Fact]
    public void ACheckpointMidEpochRecordsTheBatchAndKeepAndBestFilesAreKept()
    {
        using var dir = new TempDir();
        string ck = dir.File("k.ck");
        // 25 steps: epoch 3 stops after 5 of its 10 batches.
        var (code, _, err) = CliRunner.Run([.. Base, "--steps", "25", "--seed", "5", "--save", ck, "--save-every", "4", "--keep", "2", "--save-best"]);
        Assert.True(code == 0, err);
        var h = Checkpoint.ReadHeader(ck);
        Assert.Equal(2, h.Epoch);
        Assert.Equal((2, 5, 25L), (h.Training!.Epoch, h.Training.StepInEpoch, h.Training.TotalSteps));
        Assert.Equal(2, h.Training.Results.Count);
        var numbered = Directory.GetFiles(dir.Path, "k-step*.ck").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { "k-step24.ck", "k-step25.ck" }, numbered);
        Assert.True(File.Exists(dir.File("k-best.ck")));
        double best = Checkpoint.ReadHeader(dir.File("k-best.ck")).Training!.BestAccuracy;
        Assert.Equal(h.Training.Results.Max(r => r.TestAccuracy), best);
    }

    [Fact]
    public void KeepCountsTheFilesOfTheRunBeforeTheResume()
    {
        using var dir = new TempDir();
        string ck = dir.File("r.ck");
        string[] Args(string steps) => [.. Base, "--steps", steps, "--seed", "5", "--save", ck, "--save-every", "2", "--keep", "2"];
        var (code, _, err) = CliRunner.Run(Args("8"));
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run([.. Args("12"), "--resume", ck]);
        Assert.True(code == 0, err);
        var numbered = Directory.GetFiles(dir.Path, "r-step*.ck").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { "r-step10.ck", "r-step12.ck" }, numbered);
    }

    [Fact]
    public void ResumingWithOtherSettingsOrAFinishedRunIsAOneLineError()
    {
        using var dir = new TempDir();
        string ck = dir.File("f.ck");
        var (code, _, err) = CliRunner.Run([.. Base, "--steps", "8", "--seed", "5", "--save", ck]);
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run([.. Base, "--steps", "8", "--seed", "6", "--resume", ck]);
        Assert.Equal(2, code);
        Assert.Contains("seed 5", err);
        (code, _, err) = CliRunner.Run([.. Base, "--steps", "8", "--seed", "5", "--resume", ck]);
        Assert.Equal(1, code);
        Assert.Contains("nothing to train", err);
        Assert.Single(err.Trim().Split('\n'));
    }
}

using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests.Learning;

/// <summary>Per-layer diagnostics: they change nothing, and what they report is what the layers hold.</summary>
public class DiagnosticsTests
{
    static Trainer Make(Graph g, ComputeDevice dev) =>
        new(g, dev, new TrainOptions { BatchSize = 8, MaxSteps = 6, Epochs = 1, Seed = 3, Mean = 0.5f, Std = 0.25f }) { RecordLosses = true };

    /// <summary>Diagnosing every other step leaves the per-step losses bit-identical (dropout included, fused ReLUs included).</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Diagnosed_steps_give_the_same_losses(string backend)
    {
        var dev = Backends.Get(backend);
        var data = SyntheticData.Create(48, 1, 28, 28, 10, 5);
        using var plain = Make(LeNet5.Build(), dev);
        plain.Fit(data, null);
        using var watched = Make(LeNet5.Build(), dev);
        watched.Diagnostics = new TrainingDiagnostics(2);
        watched.Fit(data, null);
        Assert.Equal(plain.Losses, watched.Losses);
        Assert.Equal(new long[] { 1, 3, 5 }, watched.Diagnostics.Records.Select(r => r.Step));
    }

    /// <summary>
    /// A linear layer and a ReLU with known weights: the reported mean, std, zero and dead fractions, gradient norms
    /// and parameter norms equal those computed here from the downloaded values.
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Statistics_match_the_values(string backend)
    {
        var dev = Backends.Get(backend);
        var g = new Graph { Name = "tiny" };
        var x = g.Input(new Shape(3));
        var fc = new Linear(3, 4, name: "fc");
        var h = g.Add(new ReLU("relu"), g.Add(fc, x));
        g.Output = g.Add(new Linear(4, 2, name: "head"), h);
        using var t = new Trainer(g, dev, new TrainOptions { BatchSize = 2, LearningRate = 0.1f, Momentum = 0, WeightDecay = 0 });
        // Unit 3 of fc has a weight row and bias that keep it negative for the inputs below: dead.
        var w = new float[] { 1, 0, 0, 0, 1, 0, -1, 0, 0, -1, -1, -1 };
        t.Executor.Parameters.Set(fc.Weight, w);
        t.Executor.Parameters.Set(fc.Bias!, new float[] { 0, 0, 0, -1 });
        var input = new float[] { 1, 2, 3, -1, 0.5f, 2 };
        t.Executor.SetInput(input);
        t.Executor.SetLabels(new[] { 0, 1 });
        var d = new TrainingDiagnostics(1);
        var r = d.Step(t, 0);
        Assert.Equal(1, r.Step);
        // relu(fc): sample 0 → [1, 2, 0, 0]; sample 1 → [0, 0.5, 1, 0].
        var relu = r.Nodes.Single(n => n.Node == "relu");
        double[] v = { 1, 2, 0, 0, 0, 0.5, 1, 0 };
        double mean = v.Average(), std = Math.Sqrt(v.Select(a => (a - mean) * (a - mean)).Average());
        Assert.Equal(mean, relu.Mean, 6);
        Assert.Equal(std, relu.Std, 6);
        Assert.Equal(4 / 8.0, relu.ZeroFraction, 9);
        Assert.Equal(1 / 4.0, relu.DeadFraction, 9); // unit 3 only; units 0 and 2 are alive in one sample each
        Assert.True(double.IsNaN(r.Nodes.Single(n => n.Node == "head").ZeroFraction));
        Assert.True(r.Nodes.Single(n => n.Node == "head").GradientNorm > 0);
        var p = r.Parameters.Single(q => q.Parameter == "fc.weight");
        Assert.Equal(Math.Sqrt(w.Sum(a => (double)a * a)), p.WeightNorm, 5);
        // The recorded gradient is the one the update used: w' = w − 0.1·g.
        var after = t.Executor.Parameters.Get(fc.Weight);
        double gnorm = Math.Sqrt(w.Select((a, i) => Math.Pow((a - after[i]) / 0.1, 2)).Sum());
        Assert.Equal(gnorm, p.GradientNorm, 4);
    }

    [Fact]
    public void Cli_prints_and_records_diagnostics()
    {
        string dir = Path.Combine(Path.GetTempPath(), "gpucnn-diag-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string metrics = Path.Combine(dir, "m.json");
            var (code, o, err) = CliRunner.Run("train", "lenet5", "--device", "cpu", "--data", "synthetic", "--synthetic-count", "64",
                "--batch-size", "16", "--steps", "3", "--diagnostics", "2", "--metrics", metrics);
            Assert.True(code == 0, err);
            Assert.Contains("diagnostics at step 1:", o);
            Assert.Contains("diagnostics at step 3:", o);
            Assert.DoesNotContain("diagnostics at step 2:", o);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(metrics));
            var recs = doc.RootElement.GetProperty("diagnostics").EnumerateArray().ToList();
            Assert.Equal(2, recs.Count);
            var relu = recs[0].GetProperty("nodes").EnumerateArray().First(n => n.GetProperty("type").GetString() == "ReLU");
            Assert.InRange(relu.GetProperty("dead_fraction").GetDouble(), 0, 1);
            var weights = recs[0].GetProperty("parameters").EnumerateArray().Where(q => q.GetProperty("parameter").GetString()!.EndsWith(".weight")).ToList();
            Assert.NotEmpty(weights);
            Assert.All(weights, q => Assert.True(q.GetProperty("weight_norm").GetDouble() > 0 && q.GetProperty("gradient_norm").GetDouble() > 0));
            var bad = CliRunner.Run("train", "lenet5", "--init", "paper", "--steps", "1");
            Assert.Equal(2, bad.Code);
            Assert.Contains("--init paper: model 'lenet5' has default", bad.Err);
        }
        finally { Directory.Delete(dir, true); }
    }
}

using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Serialization.Onnx;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Onnx;

/// <summary><c>gpucnn export</c>: a trained checkpoint or the seeded initial weights, written as ONNX and read back.</summary>
public class OnnxCliTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "gpucnn-export-" + Guid.NewGuid().ToString("N"));

    public OnnxCliTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Export_writes_the_checkpoints_weights()
    {
        string ck = Path.Combine(dir, "l.ck"), onnx = Path.Combine(dir, "l.onnx");
        Assert.Equal(0, Run("train", "lenet5", "--device", "cpu", "--steps", "2", "--batch-size", "16", "--save", ck).Code);
        var (code, o, e) = Run("export", "lenet5", "--load", ck, "-o", onnx);
        Assert.True(code == 0, e);
        Assert.Contains("61,706 parameters", o);

        var model = OnnxImport.Load(onnx);
        var g = ModelZoo.Create("lenet5", 10, 28, 1);
        using var dev = DeviceManager.Open("cpu");
        using var store = new ParameterStore(g, new[] { dev });
        Checkpoint.Load(ck, store);
        foreach (var p in g.Parameters)
            Assert.Equal(store.Get(p), model.Weights[p.FullName]);
        Assert.Equal(g.ParameterCount, model.Graph.ParameterCount);
    }

    [Fact]
    public void Export_without_a_checkpoint_writes_the_seeded_initial_weights()
    {
        string a = Path.Combine(dir, "a.onnx"), b = Path.Combine(dir, "b.onnx"), c = Path.Combine(dir, "c.onnx");
        Assert.Equal(0, Run("export", "lenet5", "--seed", "3", "-o", a).Code);
        Assert.Equal(0, Run("export", "lenet5", "--seed", "3", "--output", b).Code);
        Assert.Equal(0, Run("export", "lenet5", "--seed", "4", "-o", c).Code);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(OnnxImport.Load(a).Weights["conv1.weight"], OnnxImport.Load(c).Weights["conv1.weight"]);
        Assert.Contains(OnnxImport.Load(a).Weights["conv1.weight"], v => v != 0);
    }

    [Fact]
    public void Export_errors_are_one_line()
    {
        var (code, _, e) = Run("export", "lenet5");
        Assert.Equal(2, code);
        Assert.Contains("-o FILE.onnx", e);
        (code, _, e) = Run("export", "lenet5", "--load", Path.Combine(dir, "missing.ck"), "-o", Path.Combine(dir, "x.onnx"));
        Assert.Equal(1, code);
        Assert.Contains("missing.ck", e);
        Assert.DoesNotContain("   at ", e);
        Assert.Single(e.Trim().Split('\n'));
    }
}

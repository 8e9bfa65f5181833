using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Model parallelism on two CPU accelerators standing in for two GPUs.</summary>
public class ModelParallelTests
{
    static (List<double> Losses, List<float[]> Grads, long Bytes) Train(Graph g, IReadOnlyList<ComputeDevice> devices, int steps)
    {
        const int batch = 2;
        using var ex = new Executor(g, devices, batch, new ExecutorOptions { Seed = 11 });
        ex.Parameters.Initialize(11);
        using var opt = new Sgd(ex.Parameters, 0.01f, 0.9f, 5e-4f);
        var x = GradCheck.RandomFloats(new Random(3), batch * 3 * 64 * 64, 1);
        var losses = new List<double>();
        for (int s = 0; s < steps; s++)
        {
            ex.SetInput(x);
            ex.SetLabels(new[] { 1, 4 });
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
            if (s < steps - 1) opt.Step();
            var (l, _, n) = ex.ReadStatistics();
            losses.Add(l / n);
        }
        return (losses, g.Parameters.Where(p => p.Trainable).Select(p => ex.Parameters.GetGrad(p)).ToList(),
            ex.Transfers.Sum(t => t.Bytes));
    }

    /// <summary>
    /// AlexNet's towers on two devices give the losses and gradients of one device, with dropout on, after 1 and 3
    /// steps: the counter-based dropout masks do not depend on placement.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AlexNet_two_towers_on_two_devices_match_one_device(int steps)
    {
        var one = Train(ModelZoo.Create("alexnet-2tower", 10, 64), new[] { Backends.Get("cpu") }, steps);
        var split = ModelZoo.Create("alexnet-2tower", 10, 64);
        Placement.Towers(split, 2);
        var two = Train(split, new[] { Backends.Get("cpu"), Backends.SecondCpu }, steps);
        Assert.Equal(0, one.Bytes);
        Assert.True(two.Bytes > 0);
        Close.Assert(one.Losses, two.Losses.Select(v => (float)v).ToList(), 1e-5, 1e-5, "per-step losses");
        for (int i = 0; i < one.Grads.Count; i++)
            Close.Assert(one.Grads[i].Select(v => (double)v).ToList(), two.Grads[i], 1e-6, 1e-4, $"gradient {i}");
    }

    /// <summary>The transfers of the towers placement are exactly the paper's crossings, forward and backward.</summary>
    [Fact]
    public void Towers_placement_transfers_only_the_papers_edges()
    {
        var g = ModelZoo.Create("alexnet-2tower", 10, 64);
        Placement.Towers(g, 2);
        using var ex = new Executor(g, new[] { Backends.Get("cpu"), Backends.SecondCpu }, 2);
        var forward = ex.Transfers.Where(t => !t.Backward).Select(t => $"{t.Tensor} -> {t.To}").OrderBy(s => s).ToList();
        // Only into conv3 (pool2), fc6 (pool5, which flatten aliases), fc7 and fc8. The image is uploaded from the host
        // to both towers' devices, so it never crosses between them.
        Assert.Equal(new[]
        {
            "drop6a -> cpu:1", "drop6b -> cpu:0", "drop7b -> cpu:0",
            "pool2a -> cpu:1", "pool2b -> cpu:0", "pool5a -> cpu:1", "pool5b -> cpu:0",
        }, forward);
        Assert.Contains(ex.Plan.Buffers, b => b.Name == "input" && b.Device == 0);
        Assert.Contains(ex.Plan.Buffers, b => b.Name == "input@1" && b.Device == 1);
        // Every activation that crosses sends its gradient back the same way.
        var backward = ex.Transfers.Where(t => t.Backward).Select(t => $"{t.Tensor} -> {t.From}").OrderBy(s => s).ToList();
        Assert.Equal(forward, backward);
        Assert.All(ex.Transfers.Where(t => t.Backward), t =>
            Assert.Equal(ex.Transfers.Single(f => !f.Backward && f.Tensor == t.Tensor).Bytes, t.Bytes));
    }

    [Fact]
    public void Placement_specs_are_checked()
    {
        var g = LeNet5.Build();
        Placement.Apply(g, "fc1=1", 2);
        Assert.Equal(0, g["conv2"].Device);
        Assert.Equal(1, g["fc1"].Device);
        Assert.Equal(1, g["fc3"].Device);
        Assert.Contains("no node 'fc9'", Assert.Throws<ArgumentException>(() => Placement.Apply(g, "fc9=1", 2)).Message);
        Assert.Contains("device 2", Assert.Throws<ArgumentException>(() => Placement.Apply(g, "fc1=2", 2)).Message);
        Assert.Contains("no towers", Assert.Throws<ArgumentException>(() => Placement.Apply(g, "towers", 2)).Message);
    }
}

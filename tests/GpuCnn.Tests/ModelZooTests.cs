using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace GpuCnn.Tests;

public class ModelZooTests(ITestOutputHelper output)
{
    /// <summary>Published parameter counts (torchvision for the torchvision variants; the 2012 paper's split for the towers).</summary>
    [Theory]
    [InlineData("lenet5", 61_706)]
    [InlineData("alexnet", 61_100_840)]
    [InlineData("vgg11", 132_863_336)]
    [InlineData("vgg16", 138_357_544)]
    [InlineData("resnet18", 11_689_512)]
    [InlineData("resnet34", 21_797_672)]
    public void Parameter_counts_match_the_published_ones(string model, long expected) =>
        Assert.Equal(expected, ModelZoo.Create(model).ParameterCount);

    /// <summary>
    /// The two-tower AlexNet's count from the paper's layer sizes: conv1 2×(48·3·11·11+48), conv2 2×(128·48·25+128),
    /// conv3 2×(192·256·9+192), conv4 2×(192·192·9+192), conv5 2×(128·192·9+128), fc6 2×(2048·9216+2048),
    /// fc7 2×(2048·4096+2048), fc8 4096·1000+1000.
    /// </summary>
    [Fact]
    public void AlexNet_two_tower_parameter_count_follows_the_paper()
    {
        long expected = 2L * (48 * 3 * 121 + 48) + 2L * (128 * 48 * 25 + 128) + 2L * (192 * 256 * 9 + 192)
            + 2L * (192 * 192 * 9 + 192) + 2L * (128 * 192 * 9 + 128) + 2L * (2048L * 9216 + 2048)
            + 2L * (2048L * 4096 + 2048) + 4096L * 1000 + 1000;
        Assert.Equal(expected, ModelZoo.Create("alexnet-2tower").ParameterCount);
    }

    /// <summary>GoogLeNet's count from Table 1 of the paper (weights and biases of every convolution and the FC).</summary>
    [Fact]
    public void GoogLeNet_parameter_count_follows_table_1()
    {
        long Conv(int cin, int cout, int k) => (long)cin * cout * k * k + cout;
        long expected = Conv(3, 64, 7) + Conv(64, 64, 1) + Conv(64, 192, 3);
        int c = 192;
        foreach (var b in GoogLeNet.Blocks.Where(b => b.C1 > 0))
        {
            expected += Conv(c, b.C1, 1) + Conv(c, b.R3, 1) + Conv(b.R3, b.C3, 3) + Conv(c, b.R5, 1) + Conv(b.R5, b.C5, 5) + Conv(c, b.Pool, 1);
            c = b.C1 + b.C3 + b.C5 + b.Pool;
        }
        expected += 1024L * 1000 + 1000;
        Assert.Equal(1024, c);
        Assert.Equal(expected, ModelZoo.Create("googlenet").ParameterCount);
    }

    /// <summary>The towers meet only where the paper has them meet: into conv3, fc6, fc7 and fc8.</summary>
    [Fact]
    public void AlexNet_towers_cross_only_into_conv3_fc6_fc7_and_fc8()
    {
        var g = ModelZoo.Create("alexnet-2tower");
        var crossing = g.Nodes.Where(n => n.Tower is not null)
            .SelectMany(n => n.Inputs.Where(i => i.Tower is not null && i.Tower != n.Tower).Select(i => $"{i.Name}->{n.Name}"))
            .OrderBy(s => s).ToList();
        Assert.Equal(new[] { "drop6a->cat7b", "drop6b->cat7a", "drop7b->cat8", "flat5a->cat6b", "flat5b->cat6a", "pool2a->cat3b", "pool2b->cat3a" }, crossing);
        Assert.Equal("conv3a", g.Nodes.Single(n => n.Inputs.Any(i => i.Name == "cat3a")).Name);
        Assert.All(g.Nodes.Where(n => !n.IsInput), n => Assert.NotNull(n.Tower));
        // Shapes at 224×224: 55×55 after conv1, 27 after pool1, 13 after pool2, 6 after pool5.
        Assert.Equal("[48, 55, 55]", g["conv1a"].Shape.ToString());
        Assert.Equal("[128, 13, 13]", g["pool2b"].Shape.ToString());
        Assert.Equal("[4608]", g["flat5a"].Shape.ToString());
    }

    /// <summary>Every zoo model runs forward and backward at a small input on the CPU accelerator: the initial loss is
    /// near ln(classes), and every trainable tensor gets a finite, non-zero gradient (nothing is disconnected).</summary>
    [Theory]
    [InlineData("lenet5", 28, 1)]
    [InlineData("alexnet", 64, 3)]
    [InlineData("alexnet-2tower", 64, 3)]
    [InlineData("vgg11", 32, 3)]
    [InlineData("vgg16", 32, 3)]
    [InlineData("googlenet", 16, 3)]
    [InlineData("resnet18", 16, 3)]
    [InlineData("resnet34", 16, 3)]
    public void Forward_and_backward_at_small_input(string model, int size, int channels)
    {
        const int classes = 10, batch = 2;
        var g = ModelZoo.Create(model, classes, size, channels);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var ex = new Executor(g, Backends.Get("cpu"), batch);
        ex.Parameters.Initialize(1);
        ex.SetInput(GradCheck.RandomFloats(new Random(1), batch * channels * size * size, 1));
        ex.SetLabels(new[] { 3, 7 });
        ex.Forward();
        ex.ComputeLoss();
        ex.Backward();
        var (loss, _, n) = ex.ReadStatistics();
        output.WriteLine($"{model} at {size}x{size}: loss {loss / n:F3}, {sw.ElapsedMilliseconds} ms, plan {ex.PeakActivationBytes >> 10} KiB");
        Assert.Equal(batch * classes, ex.GetOutput().Length);
        Assert.InRange(loss / n, 0.5, 3 * Math.Log(classes));
        foreach (var p in g.Parameters.Where(p => p.Trainable))
        {
            var grad = ex.Parameters.GetGrad(p);
            Assert.True(grad.All(float.IsFinite), $"{p.FullName} has a non-finite gradient");
            Assert.True(grad.Any(v => v != 0), $"{p.FullName} got no gradient");
        }
    }
}

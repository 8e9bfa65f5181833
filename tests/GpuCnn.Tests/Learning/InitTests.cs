using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using Xunit;

namespace GpuCnn.Tests.Learning;

/// <summary>
/// The zoo's initialisations for the nets without batch norm (docs/benchmarks.md, issue 12): VGG starts as torchvision
/// initialises it, the paper's GoogLeNet from Kaiming normal (Caffe's bvlc_googlenet with <c>--init caffe</c>), and <c>--init default</c> keeps the layers' own
/// U(±1/√fan_in). Checked on the initial values of every weight tensor, from their sample statistics.
/// </summary>
public class InitTests
{
    static (double Mean, double Std, double MaxAbs) Stats(float[] v)
    {
        double mean = v.Average(x => (double)x);
        double std = Math.Sqrt(v.Average(x => (x - mean) * (x - mean)));
        return (mean, std, v.Max(x => Math.Abs((double)x)));
    }

    static IEnumerable<(Layer Layer, Parameter P)> Params(Graph g) =>
        g.Layers.SelectMany(l => l.Parameters.Select(p => (l, p)));

    [Theory]
    [InlineData("vgg11", 32)]
    public void Vgg_starts_as_torchvision_initialises_it(string model, int size)
    {
        var g = ModelZoo.Create(model, 10, size, 3);
        int weights = 0;
        foreach (var (layer, p) in Params(g))
        {
            var (mean, std, _) = Stats(p.InitialValues(3));
            if (p.Name == "bias") { Assert.Equal(0, std); Assert.Equal(0, mean); continue; }
            // Kaiming normal, fan_out = out_channels·9, for convolutions; N(0, 0.01²) for the linear layers.
            double expected = layer is Conv2d c ? Math.Sqrt(2.0 / (c.OutChannels * 9)) : 0.01;
            Assert.True(Math.Abs(std / expected - 1) < 0.1, $"{p.FullName}: std {std:G4}, expected {expected:G4}");
            Assert.True(Math.Abs(mean) < 0.1 * expected, $"{p.FullName}: mean {mean:G4}");
            weights++;
        }
        Assert.Equal(g.Parameters.Count(p => p.Name == "weight"), weights);
    }

    /// <summary>The full-size network's initialisers, without drawing its 138 million values.</summary>
    [Fact]
    public void Vgg16_at_224_has_torchvisions_initialisers()
    {
        var g = ModelZoo.Create("vgg16", 1000, 224, 3);
        foreach (var (layer, p) in Params(g))
        {
            if (p.Name == "bias") { Assert.Equal(Init.Zeros, p.Init); continue; }
            Assert.Equal(Init.Normal, p.Init);
            float expected = layer is Conv2d c ? MathF.Sqrt(2f / (c.OutChannels * 9)) : 0.01f;
            Assert.Equal(expected, p.InitValue);
        }
        Assert.Equal(16, Params(g).Count(t => t.P.Name == "weight"));
    }

    [Theory]
    [InlineData("vgg16", 32)]
    [InlineData("googlenet", 16)]
    public void Init_default_keeps_the_layers_uniform(string model, int size)
    {
        var g = ModelZoo.Create(model, 10, size, 3, "default");
        foreach (var (_, p) in Params(g))
        {
            var (_, std, max) = Stats(p.InitialValues(3));
            if (p.Name == "bias") { Assert.Equal(0, max); continue; }
            double bound = 1 / Math.Sqrt(p.FanIn);
            Assert.True(max <= bound, $"{p.FullName}: |w| up to {max:G4}, bound {bound:G4}");
            Assert.True(Math.Abs(std / (bound / Math.Sqrt(3)) - 1) < 0.1, $"{p.FullName}: std {std:G4}");
        }
    }

    [Fact]
    public void GoogLeNet_starts_from_kaiming_normal()
    {
        var g = ModelZoo.Create("googlenet", 10, 16, 3);
        foreach (var (layer, p) in Params(g))
        {
            var (mean, std, max) = Stats(p.InitialValues(3));
            if (p.Name == "bias") { Assert.Equal(0, max); continue; }
            if (layer is not Conv2d)
            {
                // The classifier keeps the layers' default, U(±1/√fan_in).
                Assert.True(max <= 1 / Math.Sqrt(p.FanIn), $"{p.FullName}: |w| up to {max:G4}");
                continue;
            }
            double expected = Math.Sqrt(2.0 / p.FanIn);
            Assert.True(Math.Abs(std / expected - 1) < 0.1, $"{p.FullName}: std {std:G4}, expected {expected:G4}");
            Assert.True(Math.Abs(mean) < 0.1 * expected, $"{p.FullName}: mean {mean:G4}");
        }
    }

    [Fact]
    public void GoogLeNet_init_caffe_is_bvlc_googlenets()
    {
        var g = ModelZoo.Create("googlenet", 10, 16, 3, "caffe");
        foreach (var (layer, p) in Params(g))
        {
            var (mean, std, _) = Stats(p.InitialValues(3));
            if (p.Name == "bias")
            {
                // 0.2 for every convolution, 0 for the classifier.
                double value = layer is Conv2d ? 0.2 : 0;
                Assert.True(std == 0 && Math.Abs(mean - value) < 1e-7, $"{p.FullName}: mean {mean}, std {std}");
                continue;
            }
            double expected = Math.Sqrt(1.0 / p.FanIn); // xavier's variance, 1/fan_in
            Assert.True(Math.Abs(std / expected - 1) < 0.1, $"{p.FullName}: std {std:G4}, expected {expected:G4}");
        }
    }

    [Theory]
    [InlineData("vgg16", 224, "torchvision", "default")]
    [InlineData("googlenet", 224, "kaiming", "caffe", "default")]
    public void Every_initialisation_has_the_same_parameters(string model, int size, params string[] inits)
    {
        var keys = inits.Select(i => ModelZoo.Create(model, 1000, size, 3, i))
            .Select(g => string.Join(",", g.Parameters.Select(p => $"{p.FullName}{p.Shape}"))).Distinct();
        Assert.Single(keys);
    }
}

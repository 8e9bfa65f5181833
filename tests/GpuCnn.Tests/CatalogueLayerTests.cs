using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The catalogue layers: forward against the double reference, backward against finite differences, every back end.</summary>
public class CatalogueLayerTests
{
    [GradientCheck(typeof(GpuCnn.Layers.LocalResponseNorm))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void LocalResponseNorm_alexnet_constants(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new LocalResponseNorm(5, 1e-4f, 0.75f, 2f), 2, new Shape(7, 3, 3));

    [GradientCheck(typeof(GpuCnn.Layers.LocalResponseNorm))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void LocalResponseNorm_strong_even_window(string backend) =>
        // Large α makes the cross-channel term matter, so a wrong backward cannot hide behind k.
        GradCheck.Layer(Backends.Get(backend), new LocalResponseNorm(4, 2f, 0.75f, 1f), 2, new Shape(6, 2, 3));

    [GradientCheck(typeof(GpuCnn.Layers.Dropout))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dropout_training(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Dropout(0.4f), 3, new Shape(5, 4));

    [GradientCheck(typeof(GpuCnn.Layers.Dropout))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dropout_eval_is_identity(string backend) =>
        GradCheck.LayerEval(Backends.Get(backend), new Dropout(0.4f), 3, new Shape(5, 4));

    [GradientCheck(typeof(GpuCnn.Layers.StochasticPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void StochasticPool2d_training(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new StochasticPool2d(2), 2, new Shape(3, 6, 6));

    [GradientCheck(typeof(GpuCnn.Layers.StochasticPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void StochasticPool2d_overlapping_training(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new StochasticPool2d(3, 2), 2, new Shape(2, 7, 7));

    [GradientCheck(typeof(GpuCnn.Layers.StochasticPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void StochasticPool2d_eval_weighted_average(string backend) =>
        GradCheck.LayerEval(Backends.Get(backend), new StochasticPool2d(2), 2, new Shape(3, 6, 6));

    [GradientCheck(typeof(GpuCnn.Layers.BatchNorm2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void BatchNorm2d_training(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new BatchNorm2d(3), 4, new Shape(3, 3, 2));

    [GradientCheck(typeof(GpuCnn.Layers.BatchNorm2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void BatchNorm2d_eval(string backend) =>
        GradCheck.LayerEval(Backends.Get(backend), new BatchNorm2d(3), 4, new Shape(3, 3, 2));

    [GradientCheck(typeof(GpuCnn.Layers.Concat))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Concat_three_inputs(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Concat(3), 2, new Shape(2, 3, 3), new Shape(1, 3, 3), new Shape(3, 3, 3));

    [GradientCheck(typeof(GpuCnn.Layers.GlobalAvgPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void GlobalAvgPool2d(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new GlobalAvgPool2d(), 2, new Shape(3, 4, 5));

    [GradientCheck(typeof(GpuCnn.Layers.AdaptiveAvgPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void AdaptiveAvgPool2d_down_and_up(string backend)
    {
        GradCheck.Layer(Backends.Get(backend), new AdaptiveAvgPool2d(3, 2), 2, new Shape(2, 7, 5));
        GradCheck.Layer(Backends.Get(backend), new AdaptiveAvgPool2d(4, 3), 2, new Shape(2, 2, 2)); // upsampling: windows repeat
    }

    [GradientCheck(typeof(GpuCnn.Layers.Softmax))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Softmax_vectors(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Softmax(), 3, new Shape(6));

    [GradientCheck(typeof(GpuCnn.Layers.Softmax))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Softmax_over_channels(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Softmax(), 2, new Shape(4, 2, 3));

    /// <summary>Running statistics move towards the batch statistics with PyTorch's momentum and unbiased variance.</summary>
    [Fact]
    public void BatchNorm2d_updates_running_statistics_like_pytorch()
    {
        var bn = new BatchNorm2d(2, momentum: 0.1f);
        var g = new Sequential(new Shape(2, 2, 2), bn);
        using var ex = new Executor(g, Backends.Get("cpu"), 3);
        ex.Parameters.Initialize(0);
        var x = GradCheck.RandomFloats(new Random(4), 3 * 8, 2);
        ex.SetInput(x);
        ex.Forward();
        for (int c = 0; c < 2; c++)
        {
            var v = Enumerable.Range(0, 3).SelectMany(n => Enumerable.Range(0, 4).Select(p => (double)x[(n * 2 + c) * 4 + p])).ToList();
            double mean = v.Average(), unbiased = v.Sum(a => (a - mean) * (a - mean)) / (v.Count - 1);
            Assert.Equal(0.1 * mean, ex.Parameters.Get(bn.RunningMean)[c], 5);
            Assert.Equal(0.9 + 0.1 * unbiased, ex.Parameters.Get(bn.RunningVar)[c], 5);
        }
        Assert.Equal(4, g.ParameterCount); // γ and β only; running statistics are buffers
    }

    /// <summary>Dropout keeps about 1 − p of the values, scales them by 1/(1 − p), and draws a new mask each step.</summary>
    [Fact]
    public void Dropout_statistics_and_fresh_masks_per_step()
    {
        var g = new Sequential(new Shape(1000), new Dropout(0.3f));
        using var ex = new Executor(g, Backends.Get("cpu"), 4, new ExecutorOptions { Seed = 5 });
        var ones = Enumerable.Repeat(1f, 4000).ToArray();
        ex.SetInput(ones);
        ex.Forward();
        var a = ex.GetOutput();
        double kept = a.Count(v => v != 0) / 4000.0;
        Assert.InRange(kept, 0.66, 0.74);
        Assert.All(a.Where(v => v != 0), v => Assert.Equal(1f / 0.7f, v, 5));
        ex.Forward();
        Assert.NotEqual(a, ex.GetOutput());
        ex.TrainingMode = false;
        ex.Forward();
        Assert.Equal(ones, ex.GetOutput());
    }

    /// <summary>Stochastic pooling samples each element with probability a_i / Σa.</summary>
    [Fact]
    public void StochasticPool2d_samples_in_proportion_to_activation()
    {
        // One 2×2 window per plane with values 1, 2, 3, 4: expected frequencies 0.1, 0.2, 0.3, 0.4.
        const int planes = 4000;
        var g = new Sequential(new Shape(planes, 2, 2), new StochasticPool2d(2));
        using var ex = new Executor(g, Backends.Get("cpu"), 1, new ExecutorOptions { Seed = 2 });
        ex.SetInput(Enumerable.Range(0, planes).SelectMany(_ => new[] { 1f, 2f, 3f, 4f }).ToArray());
        ex.Forward();
        var y = ex.GetOutput();
        for (int v = 1; v <= 4; v++)
            Assert.InRange(y.Count(o => o == v) / (double)planes, v / 10.0 - 0.03, v / 10.0 + 0.03);
    }
}

using GpuCnn.Graphs;
using GpuCnn.Kernels;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>LeakyReLU against its double reference (forward and backward) and finite differences, on every back end.</summary>
public class LeakyReluTests
{
    const float Slope = 0.2f; // not the default, so a slope that fails to reach the kernel shows
    const int Batch = 2;
    static readonly Shape Sample = new(3, 4, 5);

    /// <summary>The double reference the shared gradient check uses for this layer.</summary>
    [LayerReference(typeof(LeakyReLU))]
    static double[] DoubleReference(Layer layer, double[][] x, Shape[] shapes, double[][] parameters, Reference.Mode mode) =>
        x[0].Select(v => Forward(v, ((LeakyReLU)layer).NegativeSlope)).ToArray();

    static double Forward(double x, double slope) => x > 0 ? x : slope * x;
    static double Backward(double x, double dy, double slope) => x > 0 ? dy : slope * dy;

    /// <summary>Seeded values of both signs with |x| ≥ 0.05, away from the kink at 0.</summary>
    static float[] AwayFromKink(int seed, int n)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((rng.Next(2) * 2 - 1) * (0.05 + 1.5 * rng.NextDouble()))).ToArray();
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Forward_and_backward_match_the_reference(string backend)
    {
        var dev = Backends.Get(backend);
        using var ex = new Executor(new Sequential(Sample, new LeakyReLU(Slope)), dev, Batch, new ExecutorOptions { InputGradients = true });
        int n = (int)Sample.Size * Batch;
        var x = AwayFromKink(31, n);
        var dy = AwayFromKink(32, n);
        ex.SetInput(x);
        ex.Forward();
        Close.Assert(x.Select(v => Forward(v, Slope)).ToList(), ex.GetOutput(), 1e-7, 1e-6, "LeakyReLU forward");
        ex.SetOutputGradient(dy);
        ex.Backward();
        Close.Assert(x.Select((v, i) => Backward(v, dy[i], Slope)).ToList(), ex.GetInputGradient(0), 1e-7, 1e-6, "LeakyReLU backward");
    }

    [GradientCheck(typeof(LeakyReLU))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gradient_check(string backend)
    {
        const int seed = 77;
        // GradCheck draws the inputs first from Random(seed): none may lie within a finite-difference step of the kink.
        Assert.All(GradCheck.RandomFloats(new Random(seed), (int)Sample.Size * Batch, 1.0), v => Assert.True(Math.Abs(v) > 1e-3, $"input {v} at the kink"));
        GradCheck.Layer(Backends.Get(backend), new LeakyReLU(Slope), Batch, new[] { Sample }, seed);
    }

    /// <summary>A small convolution and fully connected network with the activation after both producers.</summary>
    static Graph Fusible() => new Sequential(new Shape(2, 6, 6),
        new Conv2d(2, 3, 3, padding: 1), new LeakyReLU(Slope), new MaxPool2d(2), new Flatten(), new Linear(27, 6), new LeakyReLU(Slope), new Linear(6, 4));

    /// <summary>It fuses like ReLU: bit-identical training with two forward launches fewer a step, and the fused graph's gradients.</summary>
    [GradientCheck(typeof(LeakyReLU))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Fuses_into_conv_and_linear_like_relu(string backend)
    {
        FusionCheck.BitIdentical(backend, Fusible, batch: 3, fused: 2);
        GradCheck.Graph(Backends.Get(backend), Fusible(), batch: 2, seed: 78);
    }

    [Fact]
    public void Slope_defaults_to_pytorch_and_must_be_non_negative_and_finite()
    {
        Assert.Equal(0.01f, new LeakyReLU().NegativeSlope);
        Assert.Equal(FusedActivation.Leaky(Slope), new LeakyReLU(Slope).Epilogue);
        foreach (float bad in new[] { -0.1f, float.NaN, float.PositiveInfinity })
            Assert.Contains("LeakyReLU", Assert.Throws<ArgumentException>(() => new LeakyReLU(bad)).Message);
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using Xunit;

namespace GpuCnn.Tests.Infrastructure;

/// <summary>
/// The checks every pointwise activation's test file runs, so that a new activation's test holds only its formulas:
/// forward and backward against a double formula, the gradient check away from a kink at 0, and fusion into a small
/// convolution and fully connected network.
/// </summary>
public static class ActivationCheck
{
    /// <summary>Seeded values of both signs with |x| ≥ 0.05, away from a kink at 0.</summary>
    public static float[] AwayFromKink(int seed, int n)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((rng.Next(2) * 2 - 1) * (0.05 + 1.5 * rng.NextDouble()))).ToArray();
    }

    /// <summary>Forward against <paramref name="forward"/>(x) and backward against <paramref name="backward"/>(x, dy), seeded.</summary>
    public static void MatchesFormula(string backend, Layer layer, Shape sample, int batch,
        Func<double, double> forward, Func<double, double, double> backward, double atol, double rtol)
    {
        using var ex = new Executor(new Sequential(sample, layer), Backends.Get(backend), batch, new ExecutorOptions { InputGradients = true });
        int n = (int)sample.Size * batch;
        var x = AwayFromKink(31, n);
        var dy = AwayFromKink(32, n);
        ex.SetInput(x);
        ex.Forward();
        Close.Assert(x.Select(v => forward(v)).ToList(), ex.GetOutput(), atol, rtol, $"{layer.TypeName} forward");
        ex.SetOutputGradient(dy);
        ex.Backward();
        Close.Assert(x.Select((v, i) => backward(v, dy[i])).ToList(), ex.GetInputGradient(0), atol, rtol, $"{layer.TypeName} backward");
    }

    /// <summary>The shared gradient check, first confirming that the seed puts no input within a step of the kink.</summary>
    public static void GradientCheck(string backend, Layer layer, Shape sample, int batch, int seed)
    {
        // GradCheck draws the inputs first from Random(seed).
        Assert.All(GradCheck.RandomFloats(new Random(seed), (int)sample.Size * batch, 1.0), v => Assert.True(Math.Abs(v) > 1e-3, $"input {v} at the kink"));
        GradCheck.Layer(Backends.Get(backend), layer, batch, new[] { sample }, seed);
    }

    /// <summary>
    /// Fuses like ReLU: a convolution and a fully connected layer, each followed by the activation, train fused
    /// bit-identically with two forward launches fewer a step, and the fused graph passes the gradient check.
    /// </summary>
    public static void FusesLikeRelu(string backend, Func<Layer> activation)
    {
        Graph Network() => new Sequential(new Shape(2, 6, 6),
            new Conv2d(2, 3, 3, padding: 1), activation(), new MaxPool2d(2), new Flatten(), new Linear(27, 6), activation(), new Linear(6, 4));
        FusionCheck.BitIdentical(backend, Network, batch: 3, fused: 2);
        GradCheck.Graph(Backends.Get(backend), Network(), batch: 2, seed: 78);
    }
}

using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Optimizers;
using Xunit;

namespace GpuCnn.Tests.Infrastructure;

/// <summary>
/// The shared check that an activation fuses into its producers: the same seeded training run with and without
/// fusion gives bit-identical losses and gradients, with one forward launch fewer per fused activation.
/// </summary>
public static class FusionCheck
{
    /// <summary>Losses, final parameter gradients and launches per step of a short seeded SGD run.</summary>
    public static (List<float> Losses, float[][] Grads, long LaunchesPerStep) Train(ComputeDevice dev, Graph g, int batch, bool fuse, int steps)
    {
        using var ex = new Executor(g, dev, batch, new ExecutorOptions { FuseActivations = fuse });
        ex.Parameters.Initialize(3);
        using var opt = new Sgd(ex.Parameters, 0.05f, 0.9f);
        var rng = new Random(4);
        var x = GradCheck.RandomFloats(rng, (int)g.TopologicalOrder().First(n => n.IsInput).Shape.Size * batch, 1);
        int classes = g.Output.Shape[0];
        var y = Enumerable.Range(0, batch).Select(i => (i * 3 + 1) % classes).ToArray();
        var losses = new List<float>();
        long launches = 0;
        for (int s = 0; s < steps; s++)
        {
            long before = dev.LaunchCount;
            ex.SetInput(x);
            ex.SetLabels(y);
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
            launches = dev.LaunchCount - before;
            losses.Add(ex.GetRowLosses().Sum());
            opt.Step();
        }
        return (losses, g.Parameters.Select(p => ex.Parameters.GetGrad(p)).ToArray(), launches);
    }

    /// <summary>
    /// Trains graphs from <paramref name="build"/> unfused and fused on a private device of <paramref name="backend"/>
    /// and asserts bit-identical losses and gradients with <paramref name="fused"/> launches fewer per step.
    /// </summary>
    public static void BitIdentical(string backend, Func<Graph> build, int batch, int fused, int steps = 3)
    {
        using var dev = Backends.Private(backend); // counts launches: no other test may launch on it meanwhile
        var plain = Train(dev, build(), batch, false, steps);
        var withFusion = Train(dev, build(), batch, true, steps);
        Assert.Equal(plain.Losses, withFusion.Losses);
        for (int i = 0; i < plain.Grads.Length; i++) Assert.Equal(plain.Grads[i], withFusion.Grads[i]);
        Assert.Equal(plain.LaunchesPerStep - fused, withFusion.LaunchesPerStep);
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests.Resilience;

/// <summary>The clip_grad_norm_ kernels against a double-precision reference of PyTorch's rule.</summary>
public class GradClipperTests
{
    // torch.nn.utils.clip_grad_norm_: norm = ‖g‖₂; g *= min(1, max / (norm + 1e-6)).
    static double[] Reference(float[] g, double maxNorm, out double norm)
    {
        norm = Math.Sqrt(g.Sum(x => (double)x * x));
        double f = Math.Min(1, maxNorm / (norm + 1e-6));
        return g.Select(x => x * f).ToArray();
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void ClippingMatchesTheReferenceAboveAndBelowTheLimit(string backend)
    {
        var dev = Backends.Get(backend);
        // 1,354 trainable values: more than the 1,024 partial sums, so some slots sum several.
        var graph = new Sequential(new Shape(40), new Linear(40, 30, name: "fc1"), new Linear(30, 4, name: "fc2"));
        using var store = new ParameterStore(graph, [dev]);
        var slice = store.Slices[0];
        var rng = new Random(3);
        foreach (float maxNorm in new[] { 0.5f, 1e4f })
        {
            var g = GradCheck.RandomFloats(rng, (int)slice.Length, 1);
            slice.Grads.View.CopyFromCPU(slice.Device.Stream, g);
            using var clipper = new GradClipper(store, maxNorm);
            clipper.Clip();
            var got = new float[slice.Length];
            slice.Grads.View.CopyToCPU(slice.Device.Stream, got);
            var want = Reference(g[..(int)slice.TrainableLength], maxNorm, out double norm);
            Assert.Equal(norm, clipper.LastNorm(), 1e-4 * norm);
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(got[i] - want[i]) <= 1e-6 + 1e-5 * Math.Abs(want[i]), $"max {maxNorm}, element {i}: {got[i]} vs {want[i]}");
            if (maxNorm > norm) Assert.Equal(g[..want.Length], got[..want.Length]); // below the limit: untouched (factor exactly 1)
        }
    }

    [Fact]
    public void ANonPositiveOrInfiniteLimitIsRefused()
    {
        var graph = new Sequential(new Shape(2), new Linear(2, 2));
        using var dev = Devices.DeviceManager.Open("cpu");
        using var store = new ParameterStore(graph, [dev]);
        Assert.Throws<ArgumentException>(() => new GradClipper(store, 0));
        Assert.Throws<ArgumentException>(() => new GradClipper(store, float.PositiveInfinity));
    }
}

using System.Collections.Concurrent;
using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace GpuCnn.Tests;

/// <summary>
/// Both AlexNets train on synthetic 224×224 images on every back end (the catalogue issue asks for it): the first
/// training forward, with dropout on and the model's own initialisation, matches the double-precision reference of the
/// whole graph, and an SGD step changes the weights and leaves the next loss finite.
/// </summary>
public class AlexNetEveryBackendTests
{
    const int Batch = 1, Size = 224, Classes = 10, Seed = 5;
    readonly ITestOutputHelper output;

    public AlexNetEveryBackendTests(ITestOutputHelper output) => this.output = output;

    public static TheoryData<string, string> Cases() => Backends.Crossed("alexnet", "alexnet-2tower");

    // The reference depends only on the model (its initial parameters come from the seed), so backends share it.
    static readonly ConcurrentDictionary<string, Lazy<double[]>> References = new();

    static (float[] X, int[] Labels) Images()
    {
        var data = SyntheticData.Create(Batch, 3, Size, Size, Classes, seed: 7);
        return (data.Images.Select(v => (v - 0.5f) / 0.25f).ToArray(), data.Labels);
    }

    [SkippableTheory, MemberData(nameof(Cases)), Trait("Speed", "Slow")]
    public void Trains_on_synthetic_224_images(string backend, string model)
    {
        var device = Backends.Get(backend);
        var g = ModelZoo.Create(model, Classes, Size, 3);
        var (x, labels) = Images();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var ex = new Executor(g, device, Batch, new ExecutorOptions { Seed = Seed });
        ex.Parameters.Initialize(Seed);
        var pars = g.Parameters;
        var initial = pars.Select(p => ex.Parameters.Get(p)).ToArray();

        ex.SetInput(x);
        ex.SetLabels(labels);
        ex.Forward();
        var y = ex.GetOutput();
        double run = sw.Elapsed.TotalSeconds;

        var reference = References.GetOrAdd(model, _ => new Lazy<double[]>(() => GradCheck.RefForward(g, g.TopologicalOrder(), Batch,
            new[] { GradCheck.ToDouble(x) }, pars, initial.Select(GradCheck.ToDouble).ToArray(),
            new Reference.Mode(Training: true, Seed: Seed, Step: 0)))).Value;
        double scale = reference.Max(Math.Abs);
        output.WriteLine($"{model} on {device}: forward {run:F1} s; logits up to {scale:G3}");
        // fp32 sums of up to 9,216 products against double ones; the layer tests hold each kernel to its reference.
        Close.Assert(reference, y, 1e-3 * scale, 1e-3, $"{model} on {backend}: logits vs the double reference");

        ex.ComputeLoss();
        ex.Backward();
        var (loss, _, n) = ex.ReadStatistics();
        Assert.InRange(loss / n, 0.5, 3 * Math.Log(Classes));
        using (var sgd = new Sgd(ex.Parameters, 0.01f, 0.9f, 5e-4f))
            sgd.Step();
        int fc8 = pars.ToList().FindIndex(p => p.FullName == "fc8.weight");
        Assert.NotEqual(initial[fc8], ex.Parameters.Get(pars[fc8]));

        ex.SetInput(x);
        ex.SetLabels(labels);
        ex.Forward();
        ex.ComputeLoss();
        var (after, _, m) = ex.ReadStatistics();
        output.WriteLine($"loss {loss / n:F4}, after one step {after / m:F4}; {sw.Elapsed.TotalSeconds:F1} s in all");
        Assert.True(double.IsFinite(after / m), $"{model} on {backend}: loss after one step is {after / m}");
    }
}

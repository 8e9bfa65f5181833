using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The library as it is embedded: initialised on creation, accumulated gradients, tensors of any batch size, prediction.</summary>
public class LibraryTests
{
    static Graph Net(bool batchNorm)
    {
        var g = new Graph { Name = "small" };
        var x = g.Input(new Shape(2, 6, 6));
        x = g.Add(new Conv2d(2, 4, 3, 1, 1, name: "conv"), x);
        if (batchNorm) x = g.Add(new BatchNorm2d(4, name: "bn"), x);
        x = g.Add(new ReLU("relu"), x);
        x = g.Add(new MaxPool2d(2, name: "pool"), x);
        x = g.Add(new Flatten("flatten"), x);
        g.Output = g.Add(new Linear(36, 5, name: "fc"), x);
        return g;
    }

    static float[] Images(int n, int seed) => GradCheck.RandomFloats(new Random(seed), n * 72, 1.0);

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_new_model_runs_with_its_seeds_initial_weights_before_any_explicit_initialisation(string backend)
    {
        var dev = Backends.Get(backend);
        var g = Net(batchNorm: true);
        using var ex = new Executor(g, dev, 3, new ExecutorOptions { Seed = 7 });
        var pars = g.Layers.SelectMany(l => l.Parameters).ToList();
        var bn = (BatchNorm2d)g.Layers.Single(l => l is BatchNorm2d);
        Assert.All(ex.Parameters.Get(bn.Weight), v => Assert.Equal(1f, v));
        Assert.All(ex.Parameters.Get(bn.RunningVar), v => Assert.Equal(1f, v));
        Assert.All(ex.Parameters.Get(bn.RunningMean), v => Assert.Equal(0f, v));
        foreach (var p in pars) Assert.Equal(p.InitialValues(7), ex.Parameters.Get(p));
        Assert.Contains(ex.Parameters.Get(pars.First(p => p.FullName == "conv.weight")), v => v != 0f);

        var x = Images(3, 1);
        ex.Eval().SetInput(x);
        ex.Forward();
        var expected = GradCheck.RefForward(g, g.TopologicalOrder().ToList(), 3, new[] { GradCheck.ToDouble(x) }, pars,
            pars.Select(p => GradCheck.ToDouble(p.InitialValues(7))).ToArray(), new Reference.Mode(Training: false));
        Close.Assert(expected, ex.GetOutput(), 1e-5, 1e-4, "eval output with the seed's initial weights");
    }

    [Fact]
    public void A_parameter_store_made_directly_is_initialised_too()
    {
        var g = Net(batchNorm: true);
        using var store = new ParameterStore(g, new[] { Backends.Get("cpu") }, seed: 3);
        foreach (var p in g.Layers.SelectMany(l => l.Parameters)) Assert.Equal(p.InitialValues(3), store.Get(p));
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Two_half_batch_backwards_then_a_step_equal_one_full_batch(string backend)
    {
        var dev = Backends.Get(backend);
        var g = Net(batchNorm: false); // batch statistics would differ between halves, as in PyTorch
        var opts = new ExecutorOptions { Seed = 5, AccumulateGradients = true };
        var x = Images(8, 2);
        int[] y = { 0, 1, 2, 3, 4, 0, 1, 2 };
        var pars = g.Layers.SelectMany(l => l.Parameters).ToList();

        using var full = new Executor(g, dev, 8, opts);
        var fullOpt = new Sgd(full.Parameters, 0.1f);
        full.ZeroGrad();
        full.SetInput(x);
        full.SetLabels(y);
        full.Forward();
        full.ComputeLoss();
        full.Backward();
        var fullGrads = pars.Select(p => full.Parameters.GetGrad(p)).ToList();
        fullOpt.Step();

        using var owner = new Executor(g, dev, 8, opts);
        var opt = new Sgd(owner.Parameters, 0.1f);
        var half = owner.ForBatchSize(4);
        ((SoftmaxCrossEntropyLoss)half.Loss).Scale = 0.5f; // (loss / 2).backward() per half, as in PyTorch
        owner.ZeroGrad();
        for (int k = 0; k < 2; k++)
        {
            half.SetInput(x.AsSpan(k * 4 * 72, 4 * 72));
            half.SetLabels(y.AsSpan(k * 4, 4));
            half.Forward();
            half.ComputeLoss();
            half.Backward();
        }
        for (int i = 0; i < pars.Count; i++)
            Close.Assert(GradCheck.ToDouble(fullGrads[i]), owner.Parameters.GetGrad(pars[i]), 1e-7, 1e-6, $"accumulated d/d {pars[i].FullName}");
        opt.Step();
        foreach (var p in pars)
            Close.Assert(GradCheck.ToDouble(full.Parameters.Get(p)), owner.Parameters.Get(p), 1e-7, 1e-6, $"{p.FullName} after one step");

        // ZeroGrad clears, and the next backward overwrites: one half alone gives half of its own mean gradient.
        owner.ZeroGrad();
        Assert.All(owner.Parameters.GetGrad(pars[0]), v => Assert.Equal(0f, v));
        half.Forward();
        half.ComputeLoss();
        half.Backward();
        var once = owner.Parameters.GetGrad(pars[0]);
        half.Backward();
        var twice = owner.Parameters.GetGrad(pars[0]);
        Assert.Equal(once.Select(v => 2 * v), twice); // doubling is exact
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Without_accumulation_every_backward_overwrites_as_before(string backend)
    {
        var dev = Backends.Get(backend);
        var g = Net(batchNorm: false);
        using var ex = new Executor(g, dev, 4, new ExecutorOptions { Seed = 5 });
        ex.SetInput(Images(4, 3));
        ex.SetLabels(new[] { 1, 2, 3, 4 });
        ex.Forward();
        ex.ComputeLoss();
        ex.Backward();
        var p = g.Layers.First().Parameters[0];
        var first = ex.Parameters.GetGrad(p);
        ex.Backward();
        Assert.Equal(first, ex.Parameters.GetGrad(p));
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Batches_of_1_7_and_64_give_the_same_per_image_outputs(string backend)
    {
        var dev = Backends.Get(backend);
        var g = Net(batchNorm: true);
        using var model = new Executor(g, dev, 64, new ExecutorOptions { Seed = 11 });
        // Running statistics away from their initial values, so eval mode is visibly not batch statistics.
        var bn = (BatchNorm2d)g.Layers.Single(l => l is BatchNorm2d);
        model.Parameters.Set(bn.RunningMean, new[] { 0.1f, -0.2f, 0.3f, 0f });
        model.Parameters.Set(bn.RunningVar, new[] { 0.5f, 2f, 1.5f, 1f });
        model.Eval();
        var x = Images(64, 4);
        using var all = Tensor.FromArray(x, new Shape(64, 2, 6, 6), dev);
        Assert.Equal(new Shape(64, 2, 6, 6), all.Shape);
        Assert.Same(dev, all.Device);
        Assert.Equal(x, all.ToArray());
        using var out64 = model.Forward(all);
        Assert.Equal(new Shape(64, 5), out64.Shape);
        var logits = out64.ToArray();
        foreach (int n in new[] { 1, 7 })
        {
            using var part = Tensor.FromArray(x.AsSpan(0, n * 72), new Shape(n, 2, 6, 6), dev);
            using var y = model.Forward(part);
            Close.Assert(GradCheck.ToDouble(logits[..(n * 5)]), y.ToArray(), 1e-6, 1e-6, $"batch {n} against batch 64");
        }
        Assert.Same(model.ForBatchSize(7), model.ForBatchSize(7));

        var predictions = model.Predict(all, k: 3);
        Assert.Equal(64, predictions.Length);
        for (int i = 0; i < 64; i++)
        {
            var row = logits.AsSpan(i * 5, 5).ToArray().Select(v => (double)v).ToArray();
            var exp = row.Select(v => Math.Exp(v - row.Max())).ToArray();
            var order = Enumerable.Range(0, 5).OrderByDescending(c => row[c]).Take(3).ToArray();
            Assert.Equal(order, predictions[i].Classes);
            Close.Assert(order.Select(c => exp[c] / exp.Sum()).ToArray(), predictions[i].Probabilities, 1e-6, 1e-5, $"probabilities of image {i}");
        }
        Assert.Throws<ShapeMismatchException>(() => model.Forward(Tensor.FromArray(new float[50], new Shape(1, 2, 5, 5), dev)));
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests;

public class LossAndOptimizerTests
{
    /// <summary>Softmax cross-entropy: per-row loss, statistics and gradient against the double reference, padding rows ignored.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void SoftmaxCrossEntropy_matches_reference(string backend)
    {
        var dev = Backends.Get(backend);
        const int n = 6, classes = 5;
        var g = new Graph();
        var x = g.Input(new Shape(classes), "logits");
        g.Add(new Flatten(), x); // an alias: the output gradient is the input gradient
        using var ex = new Executor(g, dev, n, new ExecutorOptions { InputGradients = true });
        var rng = new Random(7);
        var z = GradCheck.RandomFloats(rng, n * classes, 4.0);
        z[3] = 60f; // a large logit: the kernel must subtract the max
        int[] labels = { 0, 3, -1, 4, 2, 1 };
        ex.SetInput(z);
        ex.SetLabels(labels);
        ex.Forward();
        ex.ComputeLoss();
        var (rows, mean, grad) = Reference.SoftmaxCrossEntropy(GradCheck.ToDouble(z), labels, classes);
        Close.Assert(rows, ex.GetRowLosses(), 1e-5, 1e-5, "per-row loss");
        Close.Assert(grad, ex.GetInputGradient(), 1e-6, 1e-5, "d loss / d logits");
        var (lossSum, correct, count) = ex.ReadStatistics();
        Assert.Equal(5, count);
        Assert.Equal(mean * 5, lossSum, 4);
        var zd = GradCheck.ToDouble(z);
        int expectCorrect = Enumerable.Range(0, n).Count(b => labels[b] >= 0 &&
            Enumerable.Range(0, classes).MaxBy(c => zd[b * classes + c]) == labels[b]);
        Assert.Equal(expectCorrect, correct);
        Assert.Equal((0.0, 0.0, 0.0), ex.ReadStatistics()); // read resets
    }

    /// <summary>Finite differences of the reference mean loss agree with the kernel's gradient.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void SoftmaxCrossEntropy_gradient_check(string backend)
    {
        var dev = Backends.Get(backend);
        const int n = 4, classes = 7;
        var g = new Graph();
        g.Add(new Flatten(), g.Input(new Shape(classes), "logits"));
        using var ex = new Executor(g, dev, n, new ExecutorOptions { InputGradients = true });
        var z = GradCheck.RandomFloats(new Random(3), n * classes, 2.0);
        int[] labels = { 6, 0, 2, 2 };
        ex.SetInput(z);
        ex.SetLabels(labels);
        ex.Forward();
        ex.ComputeLoss();
        var zd = GradCheck.ToDouble(z);
        var num = new double[zd.Length];
        for (int i = 0; i < zd.Length; i++)
        {
            double keep = zd[i];
            zd[i] = keep + 1e-6;
            double lp = Reference.SoftmaxCrossEntropy(zd, labels, classes).Mean;
            zd[i] = keep - 1e-6;
            double lm = Reference.SoftmaxCrossEntropy(zd, labels, classes).Mean;
            zd[i] = keep;
            num[i] = (lp - lm) / 2e-6;
        }
        Close.Assert(num, ex.GetInputGradient(), 1e-5, 1e-3, "softmax cross-entropy gradient vs finite differences");
    }

    /// <summary>SGD with momentum, weight decay and Nesterov over three steps against a double reference of PyTorch's rule.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Sgd_matches_reference(string backend)
    {
        var dev = Backends.Get(backend);
        foreach (bool nesterov in new[] { false, true })
        {
            var g = new Sequential(new Shape(3), new Linear(3, 4));
            using var store = new ParameterStore(g, new[] { dev });
            var rng = new Random(11);
            var pars = g.Parameters;
            var p = pars.Select(x => GradCheck.RandomFloats(rng, (int)x.Shape.Size, 1)).ToArray();
            for (int i = 0; i < pars.Count; i++) store.Set(pars[i], p[i]);
            var slice = store.Slices[0];
            var pRef = new double[slice.Length];
            var v = new double[slice.Length];
            foreach (var (par, off) in slice.Entries)
                for (int i = 0; i < par.Shape.Size; i++) pRef[off + i] = p[pars.ToList().IndexOf(par)][i];
            const float lr = 0.1f, mu = 0.9f, wd = 0.01f;
            using var opt = new Sgd(store, lr, mu, wd, nesterov);
            for (int step = 0; step < 3; step++)
            {
                var grad = GradCheck.RandomFloats(rng, (int)slice.Length, 1);
                slice.Grads.View.CopyFromCPU(dev.Stream, grad);
                opt.Step();
                for (int i = 0; i < pRef.Length; i++)
                {
                    double gi = grad[i] + wd * pRef[i];
                    v[i] = mu * v[i] + gi;
                    pRef[i] -= lr * (nesterov ? gi + mu * v[i] : v[i]);
                }
            }
            var got = new float[slice.Length];
            slice.Values.View.CopyToCPU(dev.Stream, got);
            Close.Assert(pRef, got, 1e-6, 1e-5, $"SGD parameters after 3 steps (nesterov={nesterov})");
            Assert.Equal(3, opt.Steps);
        }
    }

    [Fact]
    public void StepLR_decays_every_step_size_epochs()
    {
        var s = new StepLR(3, 0.5f);
        Assert.Equal(new[] { 1f, 1f, 1f, 0.5f, 0.5f, 0.5f, 0.25f }, Enumerable.Range(0, 7).Select(e => s.Rate(1f, e)));
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// Every loss's backward through the shared <see cref="GradCheck.Loss"/>, for every reduction (none with an upstream
/// gradient per row) and option, against double references written from the definitions; and LogSoftmax's.
/// </summary>
public class LossGradCheckTests
{
    const int Batch = 5, In = 6, Classes = 4;
    static readonly int[] Labels = { 0, 3, 1, -100, 2 };
    static readonly float[] Weights = { 0.5f, 2f, 1f, 1.5f };
    static readonly Reduction[] Reductions = { Reduction.Mean, Reduction.Sum, Reduction.None };

    static Graph Head(bool logSoftmax)
    {
        var g = new Graph { Name = logSoftmax ? "fc+logsoftmax" : "fc" };
        var n = g.Add(new Linear(In, Classes, name: "fc"), g.Input(new Shape(In)));
        g.Output = logSoftmax ? g.Add(new LogSoftmax(name: "logp"), n) : n;
        return g;
    }

    /// <summary>The reduction of row losses as PyTorch defines it; null for none (the helper draws an upstream per row).</summary>
    static Func<double[], double>? Reduce(Reduction r, double meanDivisor) =>
        r == Reduction.None ? null : r == Reduction.Sum ? rows => rows.Sum() : rows => rows.Sum() / meanDivisor;

    public static TheoryData<string, Reduction, string> LabelCases()
    {
        var d = new TheoryData<string, Reduction, string>();
        foreach (var b in Backends.Kinds)
            foreach (var r in Reductions)
                foreach (var v in new[] { "ce", "ce+weights", "ce+smoothing", "ce+weights+smoothing", "ce+ignore1", "nll", "nll+weights", "nll+ignore1" })
                    d.Add(b, r, v);
        return d;
    }

    [SkippableTheory, MemberData(nameof(LabelCases))]
    public void Label_losses_pass_the_gradient_check(string backend, Reduction reduction, string variant)
    {
        var dev = Backends.Get(backend);
        bool nll = variant.StartsWith("nll");
        float eps = variant.Contains("smoothing") ? 0.1f : 0f;
        float[]? w = variant.Contains("weights") ? Weights : null;
        int ignore = variant.EndsWith("ignore1") ? 1 : -100;
        LabelLoss loss = nll ? new NLLLoss(reduction, ignore, w) : new CrossEntropyLoss(reduction, ignore, eps, w);
        bool Counted(int l) => l >= 0 && l != ignore;
        double Weight(int c) => w?[c] ?? 1.0;
        // Cross-entropy: −Σ_c w_c·q_c·log softmax(z)_c with q = (1 − ε)·onehot + ε/C; NLL: −w_y·x_y.
        double[] Rows(double[] z) => Enumerable.Range(0, Batch).Select(b =>
        {
            if (!Counted(Labels[b])) return 0.0;
            var row = z.Skip(b * Classes).Take(Classes).ToArray();
            if (nll) return -Weight(Labels[b]) * row[Labels[b]];
            double lse = Math.Log(row.Sum(v => Math.Exp(v - row.Max()))) + row.Max();
            return -Enumerable.Range(0, Classes).Sum(c => Weight(c) * ((c == Labels[b] ? 1 - eps : 0) + eps / Classes) * (row[c] - lse));
        }).ToArray();
        double divisor = Labels.Where(Counted).Sum(l => Weight(l));
        GradCheck.Loss(dev, Head(nll), Batch, loss, ex => ex.SetLabels(Labels), Rows, Reduce(reduction, divisor), atol: 1e-4, rtol: 1e-3);
    }

    public static TheoryData<string, string, Reduction> PointwiseCases()
    {
        var d = new TheoryData<string, string, Reduction>();
        foreach (var b in Backends.Kinds)
            foreach (var l in new[] { "mse", "l1", "bce" })
                foreach (var r in Reductions)
                    d.Add(b, l, r);
        return d;
    }

    [SkippableTheory, MemberData(nameof(PointwiseCases))]
    public void Pointwise_losses_pass_the_gradient_check(string backend, string kind, Reduction reduction)
    {
        var dev = Backends.Get(backend);
        var rng = new Random(kind.Length * 10 + (int)reduction);
        var y = Enumerable.Range(0, Batch * Classes).Select(_ => kind == "bce" ? rng.NextDouble() : rng.NextDouble() * 2 - 1).Select(v => (float)v).ToArray();
        LossBase loss = kind switch { "mse" => new MSELoss(reduction), "l1" => new L1Loss(reduction), _ => new BCEWithLogitsLoss(reduction) };
        // The element losses as defined (BCE in its plain, unstabilised form); a mean's row is the row's mean.
        double Element(double x, double t) => kind switch
        {
            "mse" => (x - t) * (x - t),
            "l1" => Math.Abs(x - t),
            _ => -t * Math.Log(1 / (1 + Math.Exp(-x))) - (1 - t) * Math.Log(1 - 1 / (1 + Math.Exp(-x))),
        };
        double[] Rows(double[] z) => Enumerable.Range(0, Batch)
            .Select(b => Enumerable.Range(0, Classes).Sum(j => Element(z[b * Classes + j], y[b * Classes + j])) / (reduction == Reduction.Mean ? Classes : 1))
            .ToArray();
        GradCheck.Loss(dev, Head(false), Batch, loss, ex => ex.SetTargets(y), Rows, Reduce(reduction, Batch), atol: 1e-4, rtol: 1e-3);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void LogSoftmax_then_NLLLoss_equals_CrossEntropyLoss(string backend)
    {
        var dev = Backends.Get(backend);
        var x = GradCheck.RandomFloats(new Random(5), Batch * In, 2.0);
        (float[] Grad, float[] Rows) Run(bool nll)
        {
            using var ex = new Executor(Head(nll), dev, Batch, new ExecutorOptions
            {
                Seed = 4, InputGradients = true, Loss = () => nll ? new NLLLoss(weights: Weights) : new CrossEntropyLoss(weights: Weights),
            });
            ex.SetInput(x);
            ex.SetLabels(Labels);
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
            return (ex.GetInputGradient(), ex.GetRowLosses());
        }
        var (gn, rn) = Run(true);
        var (gc, rc) = Run(false);
        Close.Assert(rc.Select(v => (double)v).ToArray(), rn, 1e-6, 1e-5, "row losses");
        Close.Assert(gc.Select(v => (double)v).ToArray(), gn, 1e-6, 1e-5, "input gradient");
    }

    [Fact]
    public void Row_gradients_need_reduction_none_and_one_per_row()
    {
        var dev = Backends.Get("cpu");
        var mean = new CrossEntropyLoss();
        using (new Executor(Head(false), dev, Batch, new ExecutorOptions { Loss = () => mean }))
            Assert.Contains("Reduction.None", Assert.Throws<InvalidOperationException>(() => mean.SetRowGradients(new float[Batch])).Message);
        var none = new MSELoss(Reduction.None);
        using (new Executor(Head(false), dev, Batch, new ExecutorOptions { Loss = () => none }))
        {
            var e = Assert.Throws<ShapeMismatchException>(() => none.SetRowGradients(new float[3]));
            Assert.Contains("[5]", e.Message);
            Assert.Contains("[3]", e.Message);
        }
    }

    [LayerReference(typeof(LogSoftmax))]
    public static double[] LogSoftmaxReference(Layer layer, double[][] inputs, Shape[] shapes, double[][] parameters, Reference.Mode mode) =>
        Reference.SoftmaxChannels(inputs[0], shapes[0]).Select(v => Math.Log(v)).ToArray();

    [GradientCheck(typeof(LogSoftmax))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void LogSoftmax_vectors(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new LogSoftmax(), 3, new Shape(6));

    [GradientCheck(typeof(LogSoftmax))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void LogSoftmax_over_channels(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new LogSoftmax(), 2, new Shape(4, 2, 3));
}

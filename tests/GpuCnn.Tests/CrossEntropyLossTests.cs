using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>CrossEntropyLoss (reductions, ignore_index, label smoothing, class weights) against a double reference, with gradient checks.</summary>
public class CrossEntropyLossTests
{
    const int Batch = 5, In = 6, Classes = 4;
    static readonly int[] Labels = { 0, 3, 1, -100, 2 };
    static readonly float[] Weights = { 0.5f, 2f, 1f, 1.5f };

    public static TheoryData<string, Reduction, string> Cases()
    {
        var d = new TheoryData<string, Reduction, string>();
        foreach (var b in Backends.Kinds)
            foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
                foreach (var v in new[] { "plain", "weights", "smoothing", "weights+smoothing", "ignore1" })
                    d.Add(b, r, v);
        return d;
    }

    [SkippableTheory, MemberData(nameof(Cases))]
    public void Rows_and_gradients_match_the_double_reference(string backend, Reduction reduction, string variant)
    {
        var dev = Backends.Get(backend);
        float eps = variant.Contains("smoothing") ? 0.1f : 0f;
        float[]? w = variant.Contains("weights") ? Weights : null;
        int ignore = variant == "ignore1" ? 1 : -100;
        var g = new Graph { Name = "classifier" };
        var fc = new Linear(In, Classes, name: "fc");
        g.Output = g.Add(fc, g.Input(new Shape(In)));
        using var ex = new Executor(g, dev, Batch, new ExecutorOptions
        {
            Seed = 2, InputGradients = true, Loss = () => new CrossEntropyLoss(reduction, ignore, eps, w),
        });
        var x = GradCheck.RandomFloats(new Random(7), Batch * In, 2.0);
        ex.SetInput(x);
        ex.SetLabels(Labels);
        ex.Forward();
        ex.ComputeLoss();
        ex.Backward();

        var wd = GradCheck.ToDouble(ex.Parameters.Get(fc.Weight));
        var bd = GradCheck.ToDouble(ex.Parameters.Get(fc.Bias!));
        bool Counted(int l) => l >= 0 && l != ignore;
        double Weight(int c) => w?[c] ?? 1.0;
        // loss_b = −Σ_c w_c·q_c·log p_c with q = (1 − ε)·onehot + ε/C; a mean divides by Σ_b w[label_b].
        double[] Rows(double[] xs, double[] ws)
        {
            var z = Reference.Linear(xs, Batch, ws, bd, In, Classes);
            return Enumerable.Range(0, Batch).Select(b =>
            {
                if (!Counted(Labels[b])) return 0.0;
                var row = z.Skip(b * Classes).Take(Classes).ToArray();
                double lse = Math.Log(row.Sum(v => Math.Exp(v - row.Max()))) + row.Max();
                return -Enumerable.Range(0, Classes).Sum(c => Weight(c) * ((c == Labels[b] ? 1 - eps : 0) + eps / Classes) * (row[c] - lse));
            }).ToArray();
        }
        double divisor = reduction == Reduction.Mean ? Labels.Where(Counted).Sum(l => Weight(l)) : 1;
        double Total(double[] xs, double[] ws) => Rows(xs, ws).Sum() / divisor;

        var xd = GradCheck.ToDouble(x);
        Close.Assert(Rows(xd, wd), ex.GetRowLosses(), 1e-5, 1e-4, $"{variant} {reduction} row losses");
        Assert.Equal(Labels.Count(Counted), ex.ValidLabels);
        Close.Assert(Numeric(xd, v => Total(v, wd)), ex.GetInputGradient(), 1e-4, 1e-3, $"{variant} {reduction} d loss / d input");
        Close.Assert(Numeric(wd, v => Total(xd, v)), ex.Parameters.GetGrad(fc.Weight), 1e-4, 1e-3, $"{variant} {reduction} d loss / d fc.weight");
    }

    static double[] Numeric(double[] at, Func<double[], double> f)
    {
        var d = new double[at.Length];
        for (int i = 0; i < at.Length; i++)
        {
            var p = (double[])at.Clone();
            var m = (double[])at.Clone();
            p[i] += 1e-4;
            m[i] -= 1e-4;
            d[i] = (f(p) - f(m)) / 2e-4;
        }
        return d;
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void The_plain_mean_is_bit_identical_to_the_default_loss(string backend)
    {
        var dev = Backends.Get(backend);
        var x = GradCheck.RandomFloats(new Random(3), Batch * In, 2.0);
        var labels = new[] { 0, 3, 1, -1, 2 };
        (float[] Grad, float[] Rows, (double, double, double) Stats) Run(Func<ILoss> loss)
        {
            var g = new Graph();
            g.Output = g.Add(new Linear(In, Classes, name: "fc"), g.Input(new Shape(In)));
            using var ex = new Executor(g, dev, Batch, new ExecutorOptions { Seed = 1, InputGradients = true, Loss = loss });
            ex.SetInput(x);
            ex.SetLabels(labels);
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
            return (ex.GetInputGradient(), ex.GetRowLosses(), ex.ReadStatistics());
        }
        var a = Run(() => new SoftmaxCrossEntropyLoss());
        var b = Run(() => new CrossEntropyLoss());
        Assert.Equal(a.Grad, b.Grad);
        Assert.Equal(a.Rows, b.Rows);
        Assert.Equal(a.Stats, b.Stats);
    }

    [Fact]
    public void Bad_arguments_name_the_loss_and_both_shapes()
    {
        var dev = Backends.Get("cpu");
        var g = new Graph();
        g.Output = g.Add(new Linear(In, Classes, name: "fc"), g.Input(new Shape(In)));
        var e = Assert.Throws<ShapeMismatchException>(() => new Executor(g, dev, 2, new ExecutorOptions { Loss = () => new CrossEntropyLoss(weights: new float[3]) }));
        Assert.Contains("[4]", e.Message);
        Assert.Contains("[3]", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(labelSmoothing: 1.5f));
        using var ex = new Executor(g, dev, 2, new ExecutorOptions { Loss = () => new CrossEntropyLoss() });
        Assert.Contains("label 4 is out of range for 4 classes", Assert.Throws<ArgumentException>(() => ex.SetLabels(new[] { 0, 4 })).Message);
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>MSELoss, L1Loss and BCEWithLogitsLoss against double references from their definitions, with gradient checks.</summary>
public class PointwiseLossTests
{
    const int Batch = 3, In = 6, Out = 4;

    /// <summary>The element losses as defined (BCE in its plain, unstabilised form).</summary>
    static double Element(string loss, double x, double y) => loss switch
    {
        "mse" => (x - y) * (x - y),
        "l1" => Math.Abs(x - y),
        _ => -y * Math.Log(1 / (1 + Math.Exp(-x))) - (1 - y) * Math.Log(1 - 1 / (1 + Math.Exp(-x))),
    };

    static ILoss Make(string loss, Reduction r) => loss switch { "mse" => new MSELoss(r), "l1" => new L1Loss(r), _ => new BCEWithLogitsLoss(r) };

    public static TheoryData<string, string, Reduction> Cases()
    {
        var d = new TheoryData<string, string, Reduction>();
        foreach (var b in Backends.Kinds)
            foreach (var l in new[] { "mse", "l1", "bce" })
                foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
                    d.Add(b, l, r);
        return d;
    }

    [SkippableTheory, MemberData(nameof(Cases))]
    public void Loss_rows_and_gradients_match_the_double_reference(string backend, string loss, Reduction reduction)
    {
        var dev = Backends.Get(backend);
        var g = new Graph { Name = "regression" };
        var fc = new Linear(In, Out, name: "fc");
        g.Output = g.Add(fc, g.Input(new Shape(In)));
        using var ex = new Executor(g, dev, Batch, new ExecutorOptions { Seed = 3, InputGradients = true, Loss = () => Make(loss, reduction) });
        var rng = new Random(loss.Length * 10 + (int)reduction);
        var x = GradCheck.RandomFloats(rng, Batch * In, 1.0);
        var y = loss == "bce" ? Enumerable.Range(0, Batch * Out).Select(_ => (float)rng.NextDouble()).ToArray() : GradCheck.RandomFloats(rng, Batch * Out, 1.0);
        ex.SetInput(x);
        ex.SetTargets(y);
        ex.Forward();
        ex.ComputeLoss();
        ex.Backward();

        var w = GradCheck.ToDouble(ex.Parameters.Get(fc.Weight));
        var b = GradCheck.ToDouble(ex.Parameters.Get(fc.Bias!));
        double[] Rows(double[] xs, double[] ws)
        {
            var z = Reference.Linear(xs, Batch, ws, b, In, Out);
            return Enumerable.Range(0, Batch).Select(r => Enumerable.Range(0, Out).Sum(j => Element(loss, z[r * Out + j], y[r * Out + j]))
                / (reduction == Reduction.Mean ? Out : 1)).ToArray();
        }
        double Total(double[] xs, double[] ws) => Rows(xs, ws).Sum() / (reduction == Reduction.Mean ? Batch : 1);

        var xd = GradCheck.ToDouble(x);
        Close.Assert(Rows(xd, w), ex.GetRowLosses(), 1e-5, 1e-4, $"{loss} {reduction} row losses");
        var stats = ex.ReadStatistics();
        Assert.Equal(Batch, stats.Count);
        Assert.Equal(Rows(xd, w).Sum(), stats.LossSum, 4);

        double[] Numeric(double[] at, Func<double[], double> f)
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
        Close.Assert(Numeric(xd, v => Total(v, w)), ex.GetInputGradient(), 1e-4, 1e-3, $"{loss} {reduction} d loss / d input");
        Close.Assert(Numeric(w, v => Total(xd, v)), ex.Parameters.GetGrad(fc.Weight), 1e-4, 1e-3, $"{loss} {reduction} d loss / d fc.weight");

        Assert.Throws<InvalidOperationException>(() => ex.SetLabels(new[] { 0, 1, 2 }));
        Assert.Throws<ShapeMismatchException>(() => ex.SetTargets(new float[5]));
    }

    [Fact]
    public void Scale_multiplies_the_gradient_only()
    {
        var dev = Backends.Get("cpu");
        var g = new Graph();
        g.Output = g.Add(new Linear(In, Out, name: "fc"), g.Input(new Shape(In)));
        var loss = new MSELoss();
        using var ex = new Executor(g, dev, Batch, new ExecutorOptions { InputGradients = true, Loss = () => loss });
        var x = GradCheck.RandomFloats(new Random(1), Batch * In, 1.0);
        ex.SetInput(x);
        ex.SetTargets(new float[Batch * Out]);
        ex.Forward();
        ex.ComputeLoss();
        ex.Backward();
        var full = ex.GetInputGradient();
        var rows = ex.GetRowLosses();
        loss.Scale = 0.5f;
        ex.ComputeLoss();
        ex.Backward();
        Assert.Equal(full.Select(v => v * 0.5f), ex.GetInputGradient());
        Assert.Equal(rows, ex.GetRowLosses());
    }
}

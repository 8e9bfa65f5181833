using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Custom losses built from graph ops (<see cref="GraphLoss"/>) and the two ops they need, Multiply and Scale.</summary>
public class GraphLossTests
{
    const int Batch = 4, In = 5, Out = 3;

    [LayerReference(typeof(Multiply))]
    public static double[] MultiplyReference(Layer layer, double[][] x, Shape[] shapes, double[][] p, Reference.Mode mode) =>
        x[0].Zip(x[1], (a, b) => a * b).ToArray();

    [LayerReference(typeof(Scale))]
    public static double[] ScaleReference(Layer layer, double[][] x, Shape[] shapes, double[][] p, Reference.Mode mode) =>
        x[0].Select(v => ((Scale)layer).Alpha * v).ToArray();

    [GradientCheck(typeof(Multiply))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Multiply_of_two_inputs(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Multiply(), 2, new Shape(3, 2, 2), new Shape(3, 2, 2));

    [GradientCheck(typeof(Multiply))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Multiply_of_a_node_by_itself_is_its_square(string backend)
    {
        var g = new Graph { Name = "square" };
        var x = g.Add(new Linear(In, Out, name: "fc"), g.Input(new Shape(In)));
        g.Output = g.Add(new Multiply(), x, x);
        GradCheck.Graph(Backends.Get(backend), g, Batch);
    }

    [GradientCheck(typeof(Scale))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Scale_by_a_constant(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Scale(-2.5f), 3, new Shape(4));

    [Fact]
    public void Bad_shapes_name_the_layer_and_both_shapes()
    {
        var g = new Graph();
        var e = Assert.Throws<ShapeMismatchException>(() => g.Add(new Multiply(name: "gate"), g.Input(new Shape(3)), g.Input(new Shape(4), "y")));
        Assert.Contains("gate", e.Message);
        Assert.Contains("[3]", e.Message);
        Assert.Contains("[4]", e.Message);
        Assert.Throws<ArgumentException>(() => new Scale(float.NaN));
    }

    /// <summary>docs/library.md's custom loss: (prediction − target)², reduced by GraphLoss; input 0 is x, input 1 the target.</summary>
    static (Graph Graph, Linear Fc) SquaredError()
    {
        var g = new Graph { Name = "squared-error" };
        var fc = new Linear(In, Out, name: "fc");
        var pred = g.Add(fc, g.Input(new Shape(In), "x"));
        var diff = g.Add(new Add(name: "diff"), pred, g.Add(new Scale(-1, "neg"), g.Input(new Shape(Out), "target")));
        g.Output = g.Add(new Multiply(name: "square"), diff, diff);
        return (g, fc);
    }

    public static TheoryData<string, Reduction> Reductions()
    {
        var d = new TheoryData<string, Reduction>();
        foreach (var b in Backends.Kinds)
            foreach (var r in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
                d.Add(b, r);
        return d;
    }

    [SkippableTheory, MemberData(nameof(Reductions))]
    public void A_loss_built_from_graph_ops_passes_the_gradient_check(string backend, Reduction reduction)
    {
        var (g, _) = SquaredError();
        // Row losses from the graph's output (the squared errors): a row's mean for a mean reduction, its sum otherwise.
        double[] Rows(double[] o) => Enumerable.Range(0, Batch).Select(b => o.Skip(b * Out).Take(Out).Sum() / (reduction == Reduction.Mean ? Out : 1)).ToArray();
        Func<double[], double>? reduce = reduction switch { Reduction.Mean => r => r.Sum() / Batch, Reduction.Sum => r => r.Sum(), _ => null };
        GradCheck.Loss(Backends.Get(backend), g, Batch, new GraphLoss(reduction), _ => { }, Rows, reduce, atol: 1e-4, rtol: 1e-3);
    }

    [SkippableTheory, MemberData(nameof(Reductions))]
    public void The_composed_squared_error_equals_MSELoss(string backend, Reduction reduction)
    {
        var dev = Backends.Get(backend);
        var rng = new Random(11);
        var x = GradCheck.RandomFloats(rng, Batch * In, 1.0);
        var t = GradCheck.RandomFloats(rng, Batch * Out, 1.0);
        var up = GradCheck.RandomFloats(rng, Batch, 1.0);

        var (custom, cfc) = SquaredError();
        using var a = new Executor(custom, dev, Batch, new ExecutorOptions { Seed = 5, InputGradients = true, Loss = () => new GraphLoss(reduction) });
        a.SetInput(x, 0);
        a.SetInput(t, 1);
        var plain = new Graph { Name = "plain" };
        var pfc = new Linear(In, Out, name: "fc");
        plain.Output = plain.Add(pfc, plain.Input(new Shape(In), "x"));
        using var b = new Executor(plain, dev, Batch, new ExecutorOptions { Seed = 5, InputGradients = true, Loss = () => new MSELoss(reduction) });
        b.SetInput(x);
        b.SetTargets(t);
        if (reduction == Reduction.None)
        {
            ((LossBase)a.Loss).SetRowGradients(up);
            ((LossBase)b.Loss).SetRowGradients(up);
        }
        foreach (var ex in new[] { a, b })
        {
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
        }
        Assert.Equal(b.Parameters.Get(pfc.Weight), a.Parameters.Get(cfc.Weight)); // the same seed and name: the same weights
        Close.Assert(b.GetRowLosses().Select(v => (double)v).ToArray(), a.GetRowLosses(), 1e-6, 1e-6, "row losses");
        Close.Assert(b.Parameters.GetGrad(pfc.Weight).Select(v => (double)v).ToArray(), a.Parameters.GetGrad(cfc.Weight), 1e-6, 1e-5, "fc.weight gradient");
        Close.Assert(b.GetInputGradient().Select(v => (double)v).ToArray(), a.GetInputGradient(0), 1e-6, 1e-5, "input gradient");
        Assert.Equal(b.ReadStatistics().Count, a.ReadStatistics().Count);
        Assert.Contains("SetInput", Assert.Throws<InvalidOperationException>(() => a.SetLabels(new int[Batch])).Message);
    }
}

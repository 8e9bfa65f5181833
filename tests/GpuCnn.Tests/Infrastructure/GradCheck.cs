using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Tests.Infrastructure;

/// <summary>
/// The one shared gradient check. For a layer or a whole graph it: sets seeded random inputs and parameters;
/// checks the device forward against the double-precision <see cref="Reference"/>; back-propagates a seeded random
/// upstream gradient r through the device kernels; and compares every input and parameter gradient (or a seeded
/// sample of them) with central finite differences of L = Σ r·f(x, θ), where f is the double-precision reference.
/// Each check is one call: <c>GradCheck.Layer(device, new Conv2d(3, 4, 3), batch: 2, new Shape(3, 7, 7))</c>.
/// <see cref="Loss"/> checks a loss's backward the same way, through the layers before it.
/// </summary>
public static class GradCheck
{
    public static void Layer(ComputeDevice device, Layer layer, int batch, params Shape[] inputShapes) =>
        Layer(device, layer, batch, inputShapes, seed: 1234);

    public static void Layer(ComputeDevice device, Layer layer, int batch, Shape[] inputShapes, int seed,
        double atol = 2e-3, double rtol = 2e-2, int maxChecks = 48, bool training = true)
    {
        var g = new Graph { Name = layer.TypeName };
        var ins = inputShapes.Select((s, i) => g.Input(s, $"x{i}")).ToArray();
        g.Add(layer, ins);
        Graph(device, g, batch, seed, atol, rtol, maxChecks, training);
    }

    /// <summary>The same check with the executor in eval mode (dropout off, running statistics, expected values).</summary>
    public static void LayerEval(ComputeDevice device, Layer layer, int batch, params Shape[] inputShapes) =>
        Layer(device, layer, batch, inputShapes, seed: 1234, training: false);

    public static void Graph(ComputeDevice device, Graph g, int batch, int seed = 1234, double atol = 2e-3, double rtol = 2e-2,
        int maxChecks = 48, bool training = true)
    {
        var rng = new Random(seed);
        var mode = new Reference.Mode(training, Seed: 17, Step: 0);
        using var ex = new Executor(g, device, batch, new ExecutorOptions { InputGradients = true, Seed = mode.Seed }) { TrainingMode = training };
        var run = Prepare(ex, g, batch, rng, mode);
        var r = RandomFloats(rng, run.Output.Length, 1.0);
        var rd = ToDouble(r);
        ex.SetOutputGradient(r);
        ex.Backward();
        CheckGradients(ex, g, run, rng, o => { double s = 0; for (int i = 0; i < o.Length; i++) s += o[i] * rd[i]; return s; }, atol, rtol, maxChecks);
    }

    /// <summary>
    /// The same check for a loss on the graph's output: the loss's row losses against <paramref name="refRows"/> (the
    /// double reference of each row's loss from the output), then every input and parameter gradient against finite
    /// differences of the reduced reference: <paramref name="reduce"/> of the rows for a mean or a sum, and for
    /// <see cref="Reduction.None"/> Σ_b g_b·row_b with a seeded random upstream gradient g per row
    /// (<see cref="LossBase.SetRowGradients"/>). <paramref name="setTargets"/> uploads the batch's targets.
    /// </summary>
    public static void Loss(ComputeDevice device, Graph g, int batch, LossBase loss, Action<Executor> setTargets,
        Func<double[], double[]> refRows, Func<double[], double>? reduce, int seed = 1234, double atol = 2e-3, double rtol = 2e-2,
        int maxChecks = 48)
    {
        if ((loss.Reduction == Reduction.None) != (reduce is null))
            throw new ArgumentException("reduce is null exactly for Reduction.None, whose upstream gradient is per row");
        var rng = new Random(seed);
        var mode = new Reference.Mode(true, Seed: 17, Step: 0);
        using var ex = new Executor(g, device, batch, new ExecutorOptions { InputGradients = true, Seed = mode.Seed, Loss = () => loss });
        var run = Prepare(ex, g, batch, rng, mode);
        setTargets(ex);
        Func<double[], double> total = reduce ?? UpstreamPerRow(loss, batch, rng);
        ex.ComputeLoss();
        Close.Assert(refRows(run.RefOutput), ex.GetRowLosses(), 1e-5, 1e-4, $"{g.Name}: {loss.GetType().Name} row losses vs double reference");
        ex.Backward();
        CheckGradients(ex, g, run, rng, o => total(refRows(o)), atol, rtol, maxChecks);
    }

    static Func<double[], double> UpstreamPerRow(LossBase loss, int batch, Random rng)
    {
        var up = RandomFloats(rng, batch, 1.0);
        loss.SetRowGradients(up);
        return rows => { double s = 0; for (int b = 0; b < rows.Length; b++) s += up[b] * rows[b]; return s; };
    }

    sealed record Run(IReadOnlyList<Node> Order, List<Node> Inputs, int Batch, double[][] X, double[][] P, float[] Output, double[] RefOutput, Reference.Mode Mode);

    /// <summary>Seeded random inputs and parameters, the forward, and the forward against the double reference.</summary>
    static Run Prepare(Executor ex, Graph g, int batch, Random rng, Reference.Mode mode)
    {
        var order = g.TopologicalOrder();
        var inputs = order.Where(n => n.IsInput).ToList();
        var xs = inputs.Select(n => RandomFloats(rng, (int)n.Shape.Size * batch, 1.0)).ToArray();
        var pars = g.Parameters;
        // Buffers (running statistics) keep their initial values: random ones could be invalid (negative variances).
        var ps = pars.Select(p => p.Trainable ? RandomFloats(rng, (int)p.Shape.Size, 0.5) : p.InitialValues(0)).ToArray();
        for (int i = 0; i < xs.Length; i++) ex.SetInput(xs[i], i);
        for (int i = 0; i < ps.Length; i++) ex.Parameters.Set(pars[i], ps[i]);

        ex.Forward();
        var y = ex.GetOutput();
        var xd = xs.Select(ToDouble).ToArray();
        var pd = ps.Select(ToDouble).ToArray();
        var yRef = RefForward(g, order, batch, xd, pars, pd, mode);
        Close.Assert(yRef, y, 1e-4, 1e-4, $"{g.Name} forward vs double reference");
        return new Run(order, inputs, batch, xd, pd, y, yRef, mode);
    }

    /// <summary>Every input and trainable parameter gradient (a seeded sample of each) against central differences of objective(reference output).</summary>
    static void CheckGradients(Executor ex, Graph g, Run run, Random rng, Func<double[], double> objective, double atol, double rtol, int maxChecks)
    {
        var pars = g.Parameters;
        double Loss(double[][] xv, double[][] pv) => objective(RefForward(g, run.Order, run.Batch, xv, pars, pv, run.Mode));

        void CheckArray(double[][] xv, double[][] pv, double[] target, float[] analytic, string what)
        {
            var idx = Enumerable.Range(0, target.Length).OrderBy(_ => rng.Next()).Take(maxChecks).ToList();
            var num = new List<double>();
            var ana = new List<float>();
            foreach (int i in idx)
            {
                double keep = target[i];
                double h = 1e-5 * Math.Max(1, Math.Abs(keep));
                target[i] = keep + h;
                double lp = Loss(xv, pv);
                target[i] = keep - h;
                double lm = Loss(xv, pv);
                target[i] = keep;
                num.Add((lp - lm) / (2 * h));
                ana.Add(analytic[i]);
            }
            Close.Assert(num, ana, atol, rtol, what);
        }

        var xd = run.X;
        var pd = run.P;
        for (int i = 0; i < run.Inputs.Count; i++)
            CheckArray(xd, pd, xd[i], ex.GetInputGradient(i), $"{g.Name}: d loss / d {run.Inputs[i].Name}");
        for (int i = 0; i < pars.Count; i++)
            if (pars[i].Trainable)
                CheckArray(xd, pd, pd[i], ex.Parameters.GetGrad(pars[i]), $"{g.Name}: d loss / d {pars[i].FullName}");
    }

    /// <summary>The double-precision forward of the whole graph, node by node.</summary>
    public static double[] RefForward(Graph g, IReadOnlyList<Node> order, int batch, double[][] inputs,
        IReadOnlyList<Parameter> pars, double[][] values, Reference.Mode? mode = null)
    {
        var byParam = pars.Select((p, i) => (p, i)).ToDictionary(t => t.p, t => values[t.i]);
        var outs = new Dictionary<Node, double[]>();
        int k = 0;
        foreach (var n in order)
        {
            if (n.IsInput) { outs[n] = inputs[k++]; continue; }
            var f = Reference.For(n.Layer!, mode);
            outs[n] = f(n.Inputs.Select(i => outs[i]).ToArray(), n.Inputs.Select(i => i.Shape.WithBatch(batch)).ToArray(),
                n.Layer!.Parameters.Select(p => byParam[p]).ToArray());
        }
        return outs[g.Output];
    }

    public static float[] RandomFloats(Random rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }

    public static double[] ToDouble(float[] a) => a.Select(v => (double)v).ToArray();
}

using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tests.Infrastructure;
using Xunit.Sdk;

namespace GpuCnn.Tests.Learning;

/// <summary>
/// The gradient of the real training loss (softmax cross-entropy, mean over the batch) of a whole model at its own
/// initialisation, against central differences of the double-precision reference of the whole graph. Every
/// parameter tensor is checked in full twice: along its gradient (catches a wrong scale or sign of the whole tensor)
/// and along a seeded random direction (catches a wrong pattern inside it); then single entries, the largest and
/// some random ones. A per-entry difference of all 20 million AlexNet weights would take days in double precision;
/// the two projections involve every entry.
/// </summary>
public static class WholeModelGradient
{
    /// <summary>Checks forward, loss and every parameter's gradient; returns one line per tensor for the log.</summary>
    public static List<string> Check(ComputeDevice device, Graph g, int batch, int seed = 5, int entries = 2, double rtol = 1e-2)
    {
        var rng = new Random(seed);
        var mode = new Reference.Mode(true, Seed: 17, Step: 0);
        using var ex = new Executor(g, device, batch, new ExecutorOptions { Seed = mode.Seed });
        var order = g.TopologicalOrder();
        var input = order.Single(n => n.IsInput);
        var x = GradCheck.RandomFloats(rng, (int)input.Shape.Size * batch, 1.0);
        int classes = (int)g.Output.Shape.Size;
        var labels = Enumerable.Range(0, batch).Select(_ => rng.Next(classes)).ToArray();
        ex.SetInput(x);
        ex.SetLabels(labels);
        ex.Forward();
        var logits = ex.GetOutput();
        ex.ComputeLoss();
        var (lossSum, _, count) = ex.ReadStatistics();
        ex.Backward();

        var pars = g.Parameters;
        var values = pars.Select(p => GradCheck.ToDouble(ex.Parameters.Get(p))).ToArray();
        var xs = new[] { GradCheck.ToDouble(x) };
        var refLogits = GradCheck.RefForward(g, order, batch, xs, pars, values, mode);
        Close.Assert(refLogits, logits, 1e-4, 1e-3, $"{g.Name} logits vs double reference");
        // Perturbing one tensor changes only the nodes downstream of its layer: the others keep the outputs of the
        // unperturbed reference forward, so each difference recomputes only those (the same doubles as a full pass).
        var cache = new CachedForward(g, order, batch, xs, pars, values, mode);
        double Loss(Parameter changed) => Reference.SoftmaxCrossEntropy(cache.Run(changed.Owner), labels, classes).Mean;
        double loss = Reference.SoftmaxCrossEntropy(refLogits, labels, classes).Mean;
        Close.Assert(new[] { loss }, new[] { (float)(lossSum / count) }, 1e-5, 1e-4, $"{g.Name} loss vs double reference");

        var log = new List<string> { $"{g.Name}: loss {loss:F6} (device {lossSum / count:F6})" };
        foreach (var (p, i) in pars.Select((p, i) => (p, i)).Where(t => t.p.Trainable))
        {
            var grad = ex.Parameters.GetGrad(p);
            var theta = values[i];
            double gnorm = Math.Sqrt(grad.Sum(v => (double)v * v));
            double Along(double[] dir, double h)
            {
                var keep = (double[])theta.Clone();
                for (int k = 0; k < theta.Length; k++) theta[k] = keep[k] + h * dir[k];
                double lp = Loss(p);
                for (int k = 0; k < theta.Length; k++) theta[k] = keep[k] - h * dir[k];
                double lm = Loss(p);
                Array.Copy(keep, theta, theta.Length);
                return (lp - lm) / (2 * h);
            }
            double Analytic(double[] dir) => grad.Select((v, k) => v * dir[k]).Sum();
            double h = 1e-4 * Math.Max(1, Math.Sqrt(theta.Sum(v => v * v) / theta.Length));
            // Along the gradient itself: the derivative is |g|.
            var unit = gnorm > 0 ? grad.Select(v => v / gnorm).ToArray() : new double[grad.Length];
            double alongG = Along(unit, h);
            if (!(Math.Abs(alongG - gnorm) <= rtol * gnorm + 1e-7))
                throw new XunitException($"{p.FullName}: derivative along the gradient {alongG:G6}, gradient norm {gnorm:G6}");
            // Along a random unit direction: its derivative is about |g|/√n, so that is the scale of the tolerance.
            var dir = Enumerable.Range(0, grad.Length).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            double dn = Math.Sqrt(dir.Sum(v => v * v));
            for (int k = 0; k < dir.Length; k++) dir[k] /= dn;
            double numeric = Along(dir, h), analytic = Analytic(dir);
            double scale = gnorm / Math.Sqrt(grad.Length);
            if (!(Math.Abs(numeric - analytic) <= 5 * rtol * (Math.Abs(numeric) + scale) + 1e-7))
                throw new XunitException($"{p.FullName}: random-direction derivative {numeric:G6}, analytic {analytic:G6} (|g|/√n {scale:G3})");
            // Single entries: the largest ones and random ones.
            var picks = Enumerable.Range(0, grad.Length).OrderByDescending(k => Math.Abs(grad[k])).Take(entries)
                .Concat(Enumerable.Range(0, entries).Select(_ => rng.Next(grad.Length))).Distinct().ToList();
            var num = new List<double>();
            var ana = new List<float>();
            foreach (int k in picks)
            {
                var e = new double[grad.Length];
                e[k] = 1;
                num.Add(Along(e, 1e-5 * Math.Max(1, Math.Abs(theta[k]))));
                ana.Add(grad[k]);
            }
            Close.Assert(num, ana, 1e-6 + 1e-3 * gnorm, rtol, $"{g.Name}: d loss / d {p.FullName} (entries)");
            log.Add($"{p.FullName,-14} n {grad.Length,9}  |g| {gnorm:E3}  along g {alongG:E3}  random {numeric:E3} vs {analytic:E3}");
        }
        return log;
    }

    /// <summary>
    /// The double reference forward (<see cref="GradCheck.RefForward"/>) that keeps every node's output of the first
    /// pass and, after one layer's parameters change, recomputes only the nodes that depend on that layer.
    /// </summary>
    sealed class CachedForward
    {
        readonly Graph g;
        readonly IReadOnlyList<Node> order;
        readonly int batch;
        readonly Dictionary<Parameter, double[]> byParam;
        readonly Reference.Mode mode;
        readonly Dictionary<Node, double[]> first = new();

        public CachedForward(Graph g, IReadOnlyList<Node> order, int batch, double[][] inputs, IReadOnlyList<Parameter> pars, double[][] values, Reference.Mode mode)
        {
            (this.g, this.order, this.batch, this.mode) = (g, order, batch, mode);
            byParam = pars.Select((p, i) => (p, i)).ToDictionary(t => t.p, t => values[t.i]);
            int k = 0;
            foreach (var n in order) first[n] = n.IsInput ? inputs[k++] : Eval(n, first);
        }

        double[] Eval(Node n, Dictionary<Node, double[]> outs) =>
            Reference.For(n.Layer!, mode)(n.Inputs.Select(i => outs[i]).ToArray(), n.Inputs.Select(i => i.Shape.WithBatch(batch)).ToArray(),
                n.Layer!.Parameters.Select(p => byParam[p]).ToArray());

        /// <summary>The logits with the current parameter values, where only <paramref name="changed"/>'s may differ from the first pass.</summary>
        public double[] Run(Layer changed)
        {
            var outs = new Dictionary<Node, double[]>(first);
            var dirty = new HashSet<Node>();
            foreach (var n in order)
                if (!n.IsInput && (n.Layer == changed || n.Inputs.Any(dirty.Contains)))
                {
                    dirty.Add(n);
                    outs[n] = Eval(n, outs);
                }
            return outs[g.Output];
        }
    }
}

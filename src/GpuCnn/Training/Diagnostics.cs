using System.Globalization;
using GpuCnn.Graphs;
using GpuCnn.Layers;

namespace GpuCnn.Training;

/// <summary>One node's statistics at a diagnosed step.</summary>
/// <param name="Node">The node's name.</param>
/// <param name="Type">Its layer type.</param>
/// <param name="Mean">Mean of its output over the batch.</param>
/// <param name="Std">Standard deviation of its output over the batch.</param>
/// <param name="ZeroFraction">ReLUs only: the fraction of output values that are 0; NaN otherwise.</param>
/// <param name="DeadFraction">ReLUs only: the fraction of units (channels, or features) that are 0 for every sample and position; NaN otherwise.</param>
/// <param name="GradientNorm">L2 norm of the loss's gradient with respect to the output (NaN when none is computed).</param>
public sealed record NodeStatistics(string Node, string Type, double Mean, double Std, double ZeroFraction, double DeadFraction, double GradientNorm);

/// <summary>One parameter's norms at a diagnosed step, before the optimiser's update.</summary>
/// <param name="Parameter">Its full name (<c>conv1.weight</c>).</param>
/// <param name="WeightNorm">L2 norm of the values.</param>
/// <param name="GradientNorm">L2 norm of the gradient.</param>
public sealed record ParameterStatistics(string Parameter, double WeightNorm, double GradientNorm);

/// <summary>What one diagnosed step showed.</summary>
/// <param name="Step">One-based optimiser step (the index of its loss in the run's losses, plus one).</param>
/// <param name="Nodes">Every node with an output, in execution order.</param>
/// <param name="Parameters">Every trainable parameter.</param>
public sealed record DiagnosticsRecord(long Step, IReadOnlyList<NodeStatistics> Nodes, IReadOnlyList<ParameterStatistics> Parameters);

/// <summary>
/// Per-layer training diagnostics, what TensorBoard's histograms show when a network does not learn: every
/// <see cref="Every"/> steps, each node's activation mean and standard deviation, the fraction of dead ReLUs, the norm
/// of each activation's gradient, and the weight and gradient norm of each parameter. Set it as
/// <see cref="Trainer.Diagnostics"/>; a diagnosed step runs <see cref="Executor.RunObserved"/> and gives the same
/// results as a plain one.
/// </summary>
public sealed class TrainingDiagnostics
{
    readonly TextWriter? console;

    /// <summary>Diagnoses every <paramref name="every"/>-th step (the first included), printing each to <paramref name="console"/> when given.</summary>
    public TrainingDiagnostics(int every, TextWriter? console = null)
    {
        if (every <= 0) throw new ArgumentOutOfRangeException(nameof(every), $"diagnostics interval must be positive, got {every}");
        Every = every;
        this.console = console;
    }

    /// <summary>Steps between diagnosed steps.</summary>
    public int Every { get; }

    /// <summary>Every diagnosed step so far.</summary>
    public List<DiagnosticsRecord> Records { get; } = new();

    /// <summary>Whether zero-based step <paramref name="step"/> is diagnosed.</summary>
    public bool Due(long step) => step % Every == 0;

    /// <summary>Runs one training step of <paramref name="trainer"/> (zero-based <paramref name="step"/>) on the uploaded batch, recording its statistics.</summary>
    public DiagnosticsRecord Step(Trainer trainer, long step)
    {
        var ex = trainer.Executor;
        var acts = new Dictionary<Node, float[]>();
        var grads = new Dictionary<Node, double>();
        ex.RunObserved((n, v) => acts[n] = v, (n, g) => grads[n] = Norm(g));
        var parameters = ex.Graph.Parameters.Where(p => p.Trainable)
            .Select(p => new ParameterStatistics(p.FullName, Norm(ex.Parameters.Get(p)), Norm(ex.Parameters.GetGrad(p)))).ToList();
        trainer.Clipper?.Clip(); // the norms above are before clipping, as clip_grad_norm_ reports them
        trainer.Optimizer.Step();
        var nodes = ex.Plan.Order.Where(acts.ContainsKey).Select(n => Statistics(n, acts[n], grads.TryGetValue(n, out var g) ? g : double.NaN)).ToList();
        var record = new DiagnosticsRecord(step + 1, nodes, parameters);
        Records.Add(record);
        if (console is not null) Print(console, record);
        return record;
    }

    static NodeStatistics Statistics(Node n, float[] v, double gradNorm)
    {
        double sum = 0, sq = 0;
        foreach (float x in v) { sum += x; sq += (double)x * x; }
        double mean = sum / Math.Max(1, v.Length), std = Math.Sqrt(Math.Max(0, sq / Math.Max(1, v.Length) - mean * mean));
        double zero = double.NaN, dead = double.NaN;
        if (n.Layer is ReLU && v.Length > 0)
        {
            // Units are the first sample dimension (channels of a map, features of a vector); the rest are positions.
            int units = n.Shape.Rank == 0 ? 1 : n.Shape[0];
            long per = n.Shape.Size / units;
            var alive = new bool[units];
            long zeros = 0;
            for (long i = 0; i < v.Length; i++)
            {
                if (v[i] == 0) zeros++;
                else alive[(int)(i / per % units)] = true;
            }
            zero = (double)zeros / v.Length;
            dead = (double)alive.Count(a => !a) / units;
        }
        return new NodeStatistics(n.Name, n.Layer?.TypeName ?? "Input", mean, std, zero, dead, gradNorm);
    }

    static double Norm(float[] v)
    {
        double s = 0;
        foreach (float x in v) s += (double)x * x;
        return Math.Sqrt(s);
    }

    /// <summary>Writes a record as two aligned tables: nodes, then parameters.</summary>
    public static void Print(TextWriter o, DiagnosticsRecord r)
    {
        static string F(double x) => double.IsNaN(x) ? "-" : x.ToString("G4", CultureInfo.InvariantCulture);
        static string P(double x) => double.IsNaN(x) ? "-" : (x * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";
        o.WriteLine($"diagnostics at step {r.Step}:");
        o.WriteLine($"  {"node",-14} {"type",-18} {"mean",10} {"std",10} {"zero",7} {"dead",7} {"|grad|",10}");
        foreach (var n in r.Nodes)
            o.WriteLine($"  {n.Node,-14} {n.Type,-18} {F(n.Mean),10} {F(n.Std),10} {P(n.ZeroFraction),7} {P(n.DeadFraction),7} {F(n.GradientNorm),10}");
        o.WriteLine($"  {"parameter",-22} {"|w|",10} {"|grad|",10} {"|grad|/|w|",10}");
        foreach (var p in r.Parameters)
            o.WriteLine($"  {p.Parameter,-22} {F(p.WeightNorm),10} {F(p.GradientNorm),10} {F(p.GradientNorm / p.WeightNorm),10}");
    }

    /// <summary>The records as plain lists and dictionaries, for a metrics JSON file.</summary>
    public List<Dictionary<string, object?>> ToJson()
    {
        static object? J(double x) => double.IsFinite(x) ? x : null;
        return Records.Select(r => new Dictionary<string, object?>
        {
            ["step"] = r.Step,
            ["nodes"] = r.Nodes.Select(n => new Dictionary<string, object?>
            {
                ["node"] = n.Node, ["type"] = n.Type, ["mean"] = J(n.Mean), ["std"] = J(n.Std),
                ["zero_fraction"] = J(n.ZeroFraction), ["dead_fraction"] = J(n.DeadFraction), ["gradient_norm"] = J(n.GradientNorm),
            }).ToList(),
            ["parameters"] = r.Parameters.Select(p => new Dictionary<string, object?>
            {
                ["parameter"] = p.Parameter, ["weight_norm"] = J(p.WeightNorm), ["gradient_norm"] = J(p.GradientNorm),
            }).ToList(),
        }).ToList();
    }
}

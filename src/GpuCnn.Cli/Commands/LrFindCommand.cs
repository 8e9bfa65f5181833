using System.CommandLine;
using System.Globalization;
using GpuCnn.Data;
using GpuCnn.Models;
using GpuCnn.Training;
using ScottPlot;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>gpucnn lr-find MODEL</c>: a learning-rate range test (fastai's <c>lr_find</c>): the loss over an exponential
/// sweep of rates, smoothed, with the rate of steepest descent suggested; printed, and plotted with <c>--plot</c>.
/// </summary>
static class LrFindCommand
{
    public static Command Create(TextWriter o)
    {
        var model = Opt.ModelArgument();
        var batch = Opt.Int("batch-size", "images per step (default 64)", 1, "B");
        var start = Opt.Float("start-lr", "first learning rate (default 1e-7)", 0);
        var end = Opt.Float("end-lr", "last learning rate (default 10)", 0);
        var steps = Opt.Int("steps", "rates to try, one batch each (default 100)", 2);
        var optimizer = Opt.Text("optimizer", "sgd, adam or adamw (default: the model's recipe)", "sgd|adam|adamw");
        var momentum = Opt.Float("momentum", "SGD momentum (default 0.9)", 0, "M");
        var decay = Opt.Float("weight-decay", "L2 weight decay (default 5e-4)", 0, "W");
        var seed = Opt.Int("seed", "seed of initialisation, shuffling and synthetic data (default 1)", helpName: "S");
        var plot = Opt.Text("plot", "draw the loss and its smoothed curve against the learning rate (ScottPlot)", "FILE.png");
        var metrics = Opt.Text("metrics", "write the sweep as JSON", "FILE.json");
        var data = new DataOptions();
        var dev = new DeviceOptions();
        var learn = new LearnOptions();
        var c = new Command("lr-find", "Sweep the learning rate exponentially and suggest one (steepest descent of the smoothed loss).")
        {
            model, batch, start, end, steps, optimizer, momentum, decay, seed,
        };
        data.AddTo(c);
        dev.AddTo(c);
        c.Add(learn.Init);
        c.Add(plot);
        c.Add(metrics);
        c.SetAction(p =>
        {
            string name = Opt.Model(p, model, "lr-find");
            int s = p.GetValue(seed) ?? 1, b = p.GetValue(batch) ?? 64;
            double lo = p.GetValue(start) ?? 1e-7, hi = p.GetValue(end) ?? 10;
            if (!(lo > 0) || !(hi > lo)) throw new UsageException($"lr-find needs 0 < --start-lr < --end-lr, got {lo:G3} and {hi:G3}");
            var recipe = ModelZoo.DefaultRecipe(name, b, p.GetValue(optimizer));
            var defaults = new TrainOptions();
            var sel = DataPresets.Load(data.Request(p, name, s, o));
            var opts = new TrainOptions
            {
                BatchSize = b, Seed = s, Optimizer = recipe.Optimizer, LearningRate = (float)lo,
                Momentum = p.GetValue(momentum) ?? defaults.Momentum, WeightDecay = p.GetValue(decay) ?? defaults.WeightDecay,
                Mean = sel.Mean, Std = sel.Std, TrainTransform = sel.TrainTransform, EvalTransform = sel.EvalTransform,
            };
            var graph = learn.Create(p, name, sel.Classes, sel.ImageSize, sel.Channels);
            var devices = dev.Open(p, graph);
            try
            {
                o.WriteLine($"device{(devices.Count > 1 ? "s" : "")}: {string.Join(", ", devices)}");
                o.WriteLine($"data: {sel.Train.Count} training images ({sel.Description}); {recipe.Optimizer}, batch {b}");
                using var trainer = new Trainer(graph, devices, opts);
                var r = LrFinder.Run(trainer, sel.Train, lo, hi, p.GetValue(steps) ?? 100);
                Report(o, r, recipe.LearningRate);
                if (p.GetValue(plot) is { } file) { Plot(file, r, graph.Name); o.WriteLine($"plot: {file}"); }
                if (p.GetValue(metrics) is { } json)
                    CommandLine.WriteJson(json, new Dictionary<string, object?>
                    {
                        ["model"] = graph.Name, ["optimizer"] = recipe.Optimizer, ["batch_size"] = b, ["seed"] = s,
                        ["rates"] = r.Rates, ["losses"] = r.Losses.Select(Finite).ToList(), ["smoothed"] = r.Smoothed.Select(Finite).ToList(),
                        ["suggested"] = Finite(r.Suggested), ["diverged"] = r.Diverged,
                    });
            }
            finally
            {
                foreach (var d in devices) d.Dispose();
            }
            return 0;
        });
        return c;
    }

    static object? Finite(double x) => double.IsFinite(x) ? x : null;

    static string G(double x) => x.ToString("G3", CultureInfo.InvariantCulture);

    static void Report(TextWriter o, LrFindResult r, float recipeRate)
    {
        o.WriteLine($"{"lr",10} {"loss",10} {"smoothed",10}");
        int every = Math.Max(1, r.Rates.Count / 20);
        for (int i = 0; i < r.Rates.Count; i++)
            if (i % every == 0 || i == r.Rates.Count - 1 || i == r.SuggestedIndex)
                o.WriteLine($"{G(r.Rates[i]),10} {r.Losses[i],10:F4} {r.Smoothed[i],10:F4}{(i == r.SuggestedIndex ? "  <- steepest descent" : "")}");
        if (r.Diverged) o.WriteLine($"stopped at lr {G(r.Rates[^1])}: the smoothed loss diverged");
        o.WriteLine(double.IsNaN(r.Suggested)
            ? "suggested learning rate: none (the sweep is too short; raise --steps)"
            : $"suggested learning rate: {G(r.Suggested)} (the recipe's default at this batch size: {G(recipeRate)})");
    }

    static void Plot(string path, LrFindResult r, string model)
    {
        var plt = new Plot();
        double[] x = r.Rates.Select(Math.Log10).ToArray();
        var finite = Enumerable.Range(0, x.Length).Where(i => double.IsFinite(r.Losses[i]) && double.IsFinite(r.Smoothed[i])).ToArray();
        var raw = plt.Add.Scatter(finite.Select(i => x[i]).ToArray(), finite.Select(i => r.Losses[i]).ToArray());
        raw.LegendText = "loss";
        raw.MarkerSize = 3;
        var sm = plt.Add.Scatter(finite.Select(i => x[i]).ToArray(), finite.Select(i => r.Smoothed[i]).ToArray());
        sm.LegendText = "smoothed";
        sm.MarkerSize = 0;
        sm.LineWidth = 2;
        if (r.SuggestedIndex >= 0)
        {
            var v = plt.Add.VerticalLine(x[r.SuggestedIndex]);
            v.LegendText = $"suggested {G(r.Suggested)}";
        }
        plt.Title($"{model}: learning-rate range test");
        plt.XLabel("log10(learning rate)");
        plt.YLabel("training loss");
        plt.ShowLegend(Alignment.UpperLeft);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        plt.SavePng(full, CurvePlot.Width, 500);
    }
}

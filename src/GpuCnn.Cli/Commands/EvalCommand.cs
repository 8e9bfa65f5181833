using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Training;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>gpucnn eval MODEL --load FILE</c>: held-out loss and accuracy of a checkpoint. With <c>--onnx FILE</c> in place
/// of MODEL the imported graph is evaluated with its own weights, or with the checkpoint's when --load is given.
/// </summary>
static class EvalCommand
{
    public static Command Create(TextWriter o)
    {
        var model = Opt.ModelArgument();
        var onnxOpt = Opt.Onnx();
        var load = Opt.Text("load", "the checkpoint from 'gpucnn train --save'", "FILE");
        var batch = Opt.Int("batch-size", "images per evaluation batch (default 250)", 1, "B");
        var device = DeviceOptions.Single();
        var metrics = OutputPath.Option("metrics", "write the results as JSON", "FILE.json");
        var data = new DataOptions();
        var c = new Command("eval", "Evaluate a saved checkpoint on the held-out images.") { model, onnxOpt, load, batch, device };
        data.AddTo(c);
        c.Add(metrics);
        c.SetAction(p =>
        {
            var (name, onnx) = Opt.ModelOrOnnx(p, model, onnxOpt, "eval");
            string? file = p.GetValue(load);
            if (file is null && onnx is null) throw new UsageException("eval needs --load FILE (a checkpoint from 'gpucnn train --save')");
            int b = p.GetValue(batch) ?? 250;
            string? json = p.GetValue(metrics);
            var header = file is null ? null : Checkpoint.ReadHeader(file);
            // Synthetic data is regenerated from the training run's seed, so eval sees the same held-out images.
            int seed = header is not null && header.Extra.TryGetValue("seed", out var sd) ? int.Parse(sd, CultureInfo.InvariantCulture) : 1;
            var request = data.Request(p, name ?? "", seed, o, header);
            var sel = onnx is null ? DataPresets.Load(request) : Opt.DataFor(onnx, p.GetValue(onnxOpt)!, request);
            var graph = onnx?.Graph ?? ModelZoo.Create(name!, sel.Classes, sel.ImageSize, sel.Channels);
            var test = sel.Test;
            using var dev = DeviceManager.Open(p.GetValue(device));
            using var ex = new Executor(graph, dev, b, new ExecutorOptions { Training = false });
            if (file is not null) Checkpoint.Load(file, ex.Parameters);
            else onnx!.CopyTo(ex.Parameters);
            float mean = header is not null && header.Extra.TryGetValue("mean", out var m) ? float.Parse(m, CultureInfo.InvariantCulture) : sel.Mean;
            float std = header is not null && header.Extra.TryGetValue("std", out var s) ? float.Parse(s, CultureInfo.InvariantCulture) : sel.Std;
            var sw = Stopwatch.StartNew();
            var (loss, acc) = sel.EvalTransform is null ? Trainer.Evaluate(ex, test, mean, std) : Trainer.Evaluate(ex, test, sel.EvalTransform);
            double secs = sw.Elapsed.TotalSeconds;
            o.WriteLine($"device: {dev}");
            o.WriteLine($"{graph.Name} from {(header is null ? p.GetValue(onnxOpt) : $"{file} (epoch {header.Epoch})")}: test loss {loss:F4}, accuracy {acc * 100:F2}% on {test.Count} images, {ProgressPrinter.FormatRate(test.Count / secs)} img/s");
            if (json is not null)
                CommandLine.WriteJson(json, new Dictionary<string, object?>
                {
                    ["model"] = graph.Name, ["device"] = dev.Id, ["checkpoint"] = file, ["onnx"] = p.GetValue(onnxOpt), ["batch_size"] = b,
                    ["test_loss"] = loss, ["test_accuracy"] = acc, ["test_images"] = test.Count, ["images_per_second"] = test.Count / secs, ["seconds"] = secs,
                });
            return 0;
        });
        return c;
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Imaging;
using GpuCnn.Models;
using GpuCnn.Serialization;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>gpucnn predict MODEL --load FILE IMAGE...</c>: the top-k classes of each image with their probabilities, named
/// by the class names in the checkpoint, after the same resize, crop and per-channel normalisation as training.
/// With <c>--onnx FILE</c> in place of MODEL the imported graph and weights are used (--load, if given, replaces the
/// weights and supplies the normalisation and class names; without it pixels in [0, 1] go in as they are).
/// </summary>
static class PredictCommand
{
    public static Command Create(TextWriter o)
    {
        var args = new Argument<string[]>("MODEL IMAGE") { Description = "the model's name, then one or more PNG or JPEG files", Arity = ArgumentArity.ZeroOrMore };
        var load = Opt.Text("load", "the checkpoint from 'gpucnn train --save'", "FILE");
        var top = Opt.Int("top", "classes to print per image (default 3)", 1, "K");
        var json = Opt.Flag("json", "print the predictions as JSON");
        var device = DeviceOptions.Single();
        var onnxOpt = Opt.Onnx();
        var c = new Command("predict", "Classify images with a trained checkpoint or an ONNX model.") { args, load, onnxOpt, top, json, device };
        c.SetAction(p =>
        {
            var words = p.GetValue(args) ?? [];
            if (p.GetValue(onnxOpt) is { } onnxFile) return PredictOnnx(o, onnxFile, words, p.GetValue(load), p.GetValue(top) ?? 3, p.GetValue(json), p.GetValue(device));
            if (words.Length < 2)
                throw new UsageException($"'predict' takes a model name and at least one image; valid models: {string.Join(", ", ModelZoo.Names)}");
            string name = words[0];
            var images = words[1..];
            string file = p.GetValue(load) ?? throw new UsageException("predict needs --load FILE (a checkpoint from 'gpucnn train --save')");
            var header = Checkpoint.ReadHeader(file);
            var (defSize, channels, defClasses) = ModelZoo.Defaults(name);
            int size = header.Extra.TryGetValue(CheckpointFacts.ImageSize, out var s) ? int.Parse(s, CultureInfo.InvariantCulture) : defSize;
            var names = CheckpointFacts.GetClassNames(header);
            int classes = names?.Length ?? (DigitShaped(channels, size) ? 10 : defClasses);
            var mean = CheckpointFacts.GetFloats(header, CheckpointFacts.ChannelMean) ?? Scalar(header, "mean", channels, 0);
            var std = CheckpointFacts.GetFloats(header, CheckpointFacts.ChannelStd) ?? Scalar(header, "std", channels, 1);
            if (mean.Length != channels || std.Length != channels)
                throw new Data.DataFormatException(file, $"stores {mean.Length} channel means and {std.Length} deviations, the model takes {channels} channels");
            int k = Math.Min(p.GetValue(top) ?? 3, classes);
            var graph = ModelZoo.Create(name, classes, size, channels);
            using var dev = DeviceManager.Open(p.GetValue(device));
            using var ex = new Executor(graph, dev, images.Length, new ExecutorOptions { Training = false });
            Checkpoint.Load(file, ex.Parameters);
            Fill(ex, images, channels, size, mean, std);
            Report(o, ex, images, classes, k, names, p.GetValue(json), new() { ["model"] = graph.Name, ["checkpoint"] = file });
            return 0;
        });
        return c;
    }

    static int PredictOnnx(TextWriter o, string onnxFile, string[] images, string? file, int top, bool json, string? device)
    {
        if (images.Length > 0 && ModelZoo.Names.Contains(images[0]))
            throw new UsageException("'predict' takes a model name or --onnx FILE, not both");
        if (images.Length == 0) throw new UsageException("'predict --onnx FILE' takes at least one image");
        var model = Opt.ImportOnnx(onnxFile);
        var graph = model.Graph;
        var (channels, size) = Opt.ImageInput(graph, onnxFile);
        int classes = (int)graph.Output.Shape.Size;
        var header = file is null ? null : Checkpoint.ReadHeader(file);
        var names = header is null ? null : CheckpointFacts.GetClassNames(header);
        if (names is not null && names.Length != classes)
            throw new Data.DataFormatException(file!, $"names {names.Length} classes, the ONNX model has {classes} outputs");
        var mean = header is null ? new float[channels] : CheckpointFacts.GetFloats(header, CheckpointFacts.ChannelMean) ?? Scalar(header, "mean", channels, 0);
        var std = header is null ? Enumerable.Repeat(1f, channels).ToArray() : CheckpointFacts.GetFloats(header, CheckpointFacts.ChannelStd) ?? Scalar(header, "std", channels, 1);
        if (mean.Length != channels || std.Length != channels)
            throw new Data.DataFormatException(file!, $"stores {mean.Length} channel means and {std.Length} deviations, the model takes {channels} channels");
        using var dev = DeviceManager.Open(device);
        using var ex = new Executor(graph, dev, images.Length, new ExecutorOptions { Training = false });
        if (file is null) model.CopyTo(ex.Parameters);
        else Checkpoint.Load(file, ex.Parameters);
        Fill(ex, images, channels, size, mean, std);
        Report(o, ex, images, classes, Math.Min(top, classes), names, json, new() { ["model"] = graph.Name, ["onnx"] = onnxFile, ["checkpoint"] = file });
        return 0;
    }

    static void Fill(Executor ex, string[] images, int channels, int size, float[] mean, float[] std)
    {
        int sample = channels * size * size, plane = size * size;
        var x = new float[images.Length * sample];
        for (int i = 0; i < images.Length; i++)
        {
            var img = ImageDecoder.Decode(images[i], size, channels);
            for (int ch = 0; ch < channels; ch++)
                for (int j = 0; j < plane; j++)
                    x[i * sample + ch * plane + j] = (img[ch * plane + j] - mean[ch]) / std[ch];
        }
        ex.SetInput(x);
    }

    /// <summary>Runs the forward pass and prints (or writes as JSON after <paramref name="head"/>) each image's top k.</summary>
    static void Report(TextWriter o, Executor ex, string[] images, int classes, int k, string[]? names, bool json, Dictionary<string, object?> head)
    {
        ex.Forward();
        var logits = ex.GetOutput();
        var results = new List<Dictionary<string, object?>>();
        for (int i = 0; i < images.Length; i++)
        {
            var prob = Softmax(logits.AsSpan(i * classes, classes));
            var best = Enumerable.Range(0, classes).OrderByDescending(j => prob[j]).ThenBy(j => j).Take(k).ToList();
            string Label(int j) => names is not null ? names[j] : j.ToString(CultureInfo.InvariantCulture);
            results.Add(new()
            {
                ["image"] = images[i],
                ["top"] = best.Select(j => new Dictionary<string, object?> { ["class"] = Label(j), ["index"] = j, ["probability"] = prob[j] }).ToList(),
            });
            if (!json)
                o.WriteLine($"{images[i]}: {string.Join(", ", best.Select(j => $"{Label(j)} {prob[j] * 100:F1}%"))}");
        }
        head["predictions"] = results;
        if (json) o.WriteLine(JsonSerializer.Serialize(head));
    }

    // MNIST-shaped models trained on the digits have ten classes (their checkpoints predate class names).
    static bool DigitShaped(int channels, int size) => channels == 1 && size == 28;

    static float[] Scalar(CheckpointHeader h, string key, int channels, float fallback) =>
        Enumerable.Repeat(h.Extra.TryGetValue(key, out var v) ? float.Parse(v, CultureInfo.InvariantCulture) : fallback, channels).ToArray();

    static double[] Softmax(ReadOnlySpan<float> z)
    {
        double max = double.NegativeInfinity;
        foreach (float v in z) max = Math.Max(max, v);
        var e = new double[z.Length];
        double sum = 0;
        for (int i = 0; i < z.Length; i++) sum += e[i] = Math.Exp(z[i] - max);
        for (int i = 0; i < z.Length; i++) e[i] /= sum;
        return e;
    }
}

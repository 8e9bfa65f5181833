using System.CommandLine;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Serialization.Onnx;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>gpucnn export MODEL [--load WEIGHTS] [--image-size N] [--classes K] -o FILE.onnx</c>: the model as ONNX (opset
/// 17, dynamic batch axis, weights as initialisers), from a checkpoint or, without one, its seeded initial weights.
/// </summary>
static class ExportCommand
{
    public static Command Create(TextWriter o)
    {
        var model = Opt.ModelArgument();
        var load = Opt.Text("load", "a checkpoint from 'gpucnn train --save' (default: the seeded initial weights)", "FILE");
        var sizeOpt = Opt.Int("image-size", "side of the square input images (default: the model's)", 1);
        var classesOpt = Opt.Int("classes", "number of classes (default: the model's)", 2, "K");
        var seedOpt = Opt.Int("seed", "seed of the initial weights when no checkpoint is given (default 1)", 0, "S");
        var output = OutputPath.Validate(new Option<string?>("--output", "-o") { Description = "the ONNX file to write", HelpName = "FILE.onnx" });
        var c = new Command("export", "Write a model and its weights as an ONNX file (opset 17, dynamic batch).")
            { model, load, sizeOpt, classesOpt, seedOpt, output };
        c.SetAction(p =>
        {
            string name = Opt.Model(p, model, "export");
            string path = p.GetValue(output) ?? throw new UsageException("export needs -o FILE.onnx");
            var (defSize, defChannels, defClasses) = ModelZoo.Defaults(name);
            int size = p.GetValue(sizeOpt) ?? defSize, classes = p.GetValue(classesOpt) ?? defClasses;
            var graph = ModelZoo.Create(name, classes, size, defChannels);
            using var dev = DeviceManager.Open("cpu");
            using var store = new ParameterStore(graph, new[] { dev });
            string? file = p.GetValue(load);
            if (file is null) store.Initialize(p.GetValue(seedOpt) ?? 1);
            else Checkpoint.Load(file, store);
            try { OnnxExport.Save(graph, store, path); }
            catch (OnnxFormatException e) { throw new InvalidOperationException(e.Message); }
            o.WriteLine($"wrote {path}: {graph.Name}, {graph.ParameterCount:N0} parameters, input [N, {defChannels}, {size}, {size}], " +
                        (file is null ? $"initial weights of seed {p.GetValue(seedOpt) ?? 1}" : $"weights from {file}"));
            return 0;
        });
        return c;
    }
}

using System.CommandLine;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Serialization;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>gpucnn import FILE.onnx [--save WEIGHTS.safetensors]</c>: reads an ONNX model, prints its summary, and writes
/// its weights as a safetensors state dict (the keys a PyTorch model of the same layers would have).
/// </summary>
static class ImportCommand
{
    public static Command Create(TextWriter o)
    {
        var file = new Argument<string[]>("FILE.onnx") { Description = "the ONNX model to import", Arity = ArgumentArity.ZeroOrMore };
        var save = OutputPath.Option("save", "write the imported weights as a safetensors state dict", "WEIGHTS.safetensors");
        var c = new Command("import", "Read an ONNX model, print its summary and optionally save its weights as safetensors.") { file, save };
        c.SetAction(p =>
        {
            var files = p.GetValue(file) ?? [];
            if (files.Length != 1) throw new UsageException("'import' takes one ONNX file");
            var model = Opt.ImportOnnx(files[0]);
            var (channels, size) = Opt.ImageInput(model.Graph, files[0]);
            o.WriteLine($"imported {files[0]}: input [N, {channels}, {size}, {size}], {model.Weights.Count} weight tensors");
            SummaryCommand.WriteLayers(o, model.Graph);
            string? path = p.GetValue(save);
            if (path is null) return 0;
            // Through a host-side store, so the keys and shapes are exactly those StateDict.LoadInto expects.
            using var dev = DeviceManager.Open("cpu");
            using var store = new ParameterStore(model.Graph, new[] { dev });
            model.CopyTo(store);
            var dict = StateDict.Of(store);
            Safetensors.Save(path, dict);
            o.WriteLine($"wrote {path}: {dict.Count} tensors");
            return 0;
        });
        return c;
    }
}

using System.CommandLine;
using System.Text.Json;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Models;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>gpucnn summary MODEL|--onnx FILE</c>: per-layer output shape, parameters, receptive field and FLOPs, in columns sized to
/// their longest entry, numbers with thousands separators; <c>--json</c> gives the same table as data.
/// </summary>
static class SummaryCommand
{
    public static Command Create(TextWriter o)
    {
        var model = Opt.ModelArgument();
        var onnxOpt = Opt.Onnx();
        var sizeOpt = Opt.Int("image-size", "side of the square input images (default: the model's)", 1);
        var classesOpt = Opt.Int("classes", "number of classes (default: the model's)", 2, "K");
        var devicesOpt = Opt.Text("devices", "devices of a placement, to print the bytes that cross them", "D,D,...");
        var placementOpt = Opt.Text("placement", "single, towers, or NODE=DEVICE[,...]", "P");
        var batchOpt = Opt.Int("batch-size", "batch of the crossing bytes (default 128)", 1, "B");
        var jsonOpt = Opt.Flag("json", "print the table as JSON");
        var c = new Command("summary", "Print a model's layers, shapes, parameters, receptive fields and FLOPs.")
            { model, onnxOpt, sizeOpt, classesOpt, devicesOpt, placementOpt, batchOpt, jsonOpt };
        c.SetAction(p =>
        {
            var (name, onnx) = Opt.ModelOrOnnx(p, model, onnxOpt, "summary");
            int batch = p.GetValue(batchOpt) ?? 128, size, classes;
            Graph graph;
            if (onnx is not null)
            {
                // An imported graph has its shapes fixed: only the batch is free.
                if (p.GetValue(sizeOpt) is not null || p.GetValue(classesOpt) is not null)
                    throw new UsageException("--image-size and --classes do not apply to --onnx (the file fixes the shapes)");
                graph = onnx.Graph;
                size = Opt.ImageInput(graph, p.GetValue(onnxOpt)!).Size;
                classes = (int)graph.Output.Shape.Size;
            }
            else
            {
                var (defSize, defChannels, defClasses) = ModelZoo.Defaults(name!);
                size = p.GetValue(sizeOpt) ?? defSize;
                classes = p.GetValue(classesOpt) ?? defClasses;
                graph = ModelZoo.Create(name!, classes, size, defChannels);
            }
            string? many = p.GetValue(devicesOpt), placement = p.GetValue(placementOpt);
            string[] specs = many?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
            if (many is not null)
            {
                foreach (var spec in specs) DeviceManager.Resolve(spec);
                Placement.Apply(graph, placement ?? "single", specs.Length);
            }
            else if (placement is not null) throw new UsageException("--placement needs --devices A,B");
            var rows = ModelSummary.Rows(graph);
            var crossings = many is null ? [] : ModelSummary.Crossings(graph, batch);
            long Back(string producer, long bytes) => graph[producer].IsInput ? 0 : bytes;
            long crossingTotal = crossings.Sum(x => x.Bytes + Back(x.Producer, x.Bytes));
            if (p.GetValue(jsonOpt))
            {
                o.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["model"] = graph.Name, ["image_size"] = size, ["classes"] = classes,
                    ["layers"] = rows.Select(r => new Dictionary<string, object?>
                    {
                        ["name"] = r.Name, ["type"] = r.Type, ["output_shape"] = r.OutputShape, ["parameters"] = r.Parameters,
                        ["receptive_field"] = r.ReceptiveField, ["flops"] = r.Flops, ["macs"] = r.Macs,
                    }).ToList(),
                    ["total_parameters"] = graph.ParameterCount, ["forward_flops"] = rows.Sum(r => r.Flops),
                    ["crossings"] = many is null ? null : crossings.Select(x => new Dictionary<string, object?>
                    {
                        ["activation"] = x.Producer, ["from"] = x.From, ["to"] = x.To, ["forward_bytes"] = x.Bytes, ["gradient_bytes"] = Back(x.Producer, x.Bytes),
                    }).ToList(),
                    ["bytes_transferred_per_step"] = many is null ? null : crossingTotal,
                }, new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            WriteLayers(o, graph, rows);
            if (many is null) return 0;
            o.WriteLine();
            o.WriteLine($"placement '{placement ?? "single"}' on {string.Join(", ", specs.Select((d, i) => $"{i}: {d}"))}; bytes crossing per training step at batch {batch}:");
            o.Write(Table(["activation", "from", "to", "forward bytes", "gradient bytes"], [false, true, true, true, true],
                crossings.Select(x => new[] { x.Producer, $"{x.From}", $"{x.To}", $"{x.Bytes:N0}", $"{Back(x.Producer, x.Bytes):N0}" }), indent: "  "));
            o.WriteLine($"bytes transferred per step: {crossingTotal:N0}");
            foreach (var input in graph.TopologicalOrder().Where(n => n.IsInput))
            {
                var readers = graph.TopologicalOrder().Where(n => n.Inputs.Contains(input)).Select(n => n.Device).Distinct().OrderBy(d => d).ToList();
                if (readers.Count > 1)
                    o.WriteLine($"input '{input.Name}' is uploaded from the host to devices {string.Join(", ", readers)}: {input.Shape.Size * batch * sizeof(float):N0} bytes each, no copy between devices");
            }
            return 0;
        });
        return c;
    }

    /// <summary>The model line, the layer table, the forward FLOPs and the total parameters of <paramref name="graph"/>.</summary>
    internal static void WriteLayers(TextWriter o, Graph graph, IReadOnlyList<SummaryRow>? rows = null)
    {
        rows ??= ModelSummary.Rows(graph);
        o.WriteLine($"model: {graph.Name}");
        o.Write(Table(["layer", "type", "output shape", "params", "receptive field", "FLOPs"], [false, false, false, true, true, true],
            rows.Select(r => new[] { r.Name, r.Type, r.OutputShape, $"{r.Parameters:N0}", r.ReceptiveField, $"{r.Flops:N0}" })));
        o.WriteLine($"forward FLOPs per sample: {rows.Sum(r => r.Flops):N0} ({rows.Sum(r => r.Macs):N0} multiply-adds)");
        o.WriteLine($"total parameters: {graph.ParameterCount:N0}");
    }

    /// <summary>A text table whose columns are as wide as their widest cell, with rules above and below the rows.</summary>
    internal static string Table(string[] header, bool[] right, IEnumerable<string[]> rows, string indent = "")
    {
        var all = rows.ToList();
        int[] w = header.Select((h, i) => all.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        string Line(string[] cells) => indent + string.Join("  ", cells.Select((c, i) => right[i] ? c.PadLeft(w[i]) : c.PadRight(w[i]))).TrimEnd();
        string rule = indent + new string('-', w.Sum() + 2 * (w.Length - 1));
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(Line(header)).AppendLine(rule);
        foreach (var r in all) sb.AppendLine(Line(r));
        sb.AppendLine(rule);
        return sb.ToString();
    }
}

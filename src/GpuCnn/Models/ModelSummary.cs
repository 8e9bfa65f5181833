using System.Text;
using GpuCnn.Graphs;
using GpuCnn.Layers;

namespace GpuCnn.Models;

/// <summary>One row of a model summary.</summary>
/// <param name="Name">Node name.</param>
/// <param name="Type">Layer type (or Input).</param>
/// <param name="OutputShape">Per-sample output shape.</param>
/// <param name="Parameters">Trainable values of the layer.</param>
/// <param name="ReceptiveField">Receptive field in input pixels, or "full" for layers that see the whole input.</param>
/// <param name="Macs">Multiply–accumulates per sample in the forward pass.</param>
public sealed record SummaryRow(string Name, string Type, string OutputShape, long Parameters, string ReceptiveField, long Macs)
{
    /// <summary>Forward FLOPs per sample (2 per multiply–accumulate).</summary>
    public long Flops => 2 * Macs;
}

/// <summary>Per-layer output shape, parameters, receptive field and FLOPs of a graph, like torchsummary.</summary>
public static class ModelSummary
{
    /// <summary>
    /// Rows in graph order. The receptive field follows r ← r + (k_eff − 1)·j, j ← j·s through each window
    /// (k_eff = d·(k − 1) + 1); a node with several inputs takes the largest; a fully connected layer sees everything.
    /// </summary>
    public static List<SummaryRow> Rows(Graph graph)
    {
        var rf = new Dictionary<Node, (int Rh, int Rw, int Jh, int Jw, bool Full)>();
        var rows = new List<SummaryRow>();
        foreach (var n in graph.TopologicalOrder())
        {
            if (n.IsInput)
            {
                rf[n] = (1, 1, 1, 1, false);
                rows.Add(new SummaryRow(n.Name, "Input", n.Shape.ToString(), 0, "1x1", 0));
                continue;
            }
            var ins = n.Inputs.Select(i => rf[i]).ToList();
            var cur = (Rh: ins.Max(x => x.Rh), Rw: ins.Max(x => x.Rw), Jh: ins.Max(x => x.Jh), Jw: ins.Max(x => x.Jw), Full: ins.Any(x => x.Full));
            var w = n.Layer!.ReceptiveWindow;
            if (w is not null)
            {
                if (w.IsGlobal) cur.Full = true;
                else
                {
                    cur.Rh += (w.DilationH * (w.KernelH - 1)) * cur.Jh;
                    cur.Rw += (w.DilationW * (w.KernelW - 1)) * cur.Jw;
                    cur.Jh *= w.StrideH;
                    cur.Jw *= w.StrideW;
                }
            }
            rf[n] = cur;
            var layer = n.Layer;
            rows.Add(new SummaryRow(n.Name, layer.TypeName, n.Shape.ToString(), layer.Parameters.Sum(p => p.Shape.Size),
                cur.Full ? "full" : $"{cur.Rh}x{cur.Rw}", layer.ForwardMacs(n.Inputs.Select(i => i.Shape).ToList(), n.Shape)));
        }
        return rows;
    }

    /// <summary>
    /// The activations that cross devices under the graph's current placement for one batch, one entry per producer and
    /// target device (as the executor's transfers): name, source device index, target device index, bytes. Each
    /// crossing also sends the same number of gradient bytes back, except from graph inputs.
    /// </summary>
    public static List<(string Producer, int From, int To, long Bytes)> Crossings(Graph graph, int batch)
    {
        var seen = new HashSet<(Node, int)>();
        var list = new List<(string, int, int, long)>();
        foreach (var n in graph.TopologicalOrder())
            foreach (var i in n.Inputs)
            {
                var producer = Storage(i);
                // Graph inputs are uploaded from the host to every device that reads them: nothing crosses.
                if (producer.IsInput || producer.Device == n.Device || !seen.Add((producer, n.Device))) continue;
                list.Add((producer.Name, producer.Device, n.Device, producer.Shape.Size * batch * sizeof(float)));
            }
        return list;
    }

    /// <summary>The node whose memory an alias (Flatten) reuses.</summary>
    static Node Storage(Node n) => n.Layer is { IsAlias: true } && n.Inputs[0].Device == n.Device ? Storage(n.Inputs[0]) : n;

    /// <summary>The summary as a table ending with <c>total parameters: N</c>.</summary>
    public static string Format(Graph graph)
    {
        var rows = Rows(graph);
        var sb = new StringBuilder();
        sb.AppendLine($"model: {graph.Name}");
        sb.AppendLine($"{"layer",-12} {"type",-10} {"output shape",-16} {"params",10} {"receptive field",16} {"FLOPs",16}");
        sb.AppendLine(new string('-', 85));
        foreach (var r in rows)
            sb.AppendLine($"{r.Name,-12} {r.Type,-10} {r.OutputShape,-16} {r.Parameters,10:N0} {r.ReceptiveField,16} {r.Flops,16:N0}");
        sb.AppendLine(new string('-', 85));
        sb.AppendLine($"forward FLOPs per sample: {rows.Sum(r => r.Flops):N0} ({rows.Sum(r => r.Macs):N0} multiply-adds)");
        sb.Append($"total parameters: {graph.ParameterCount}");
        return sb.ToString();
    }
}

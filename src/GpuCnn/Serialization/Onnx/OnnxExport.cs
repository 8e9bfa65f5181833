using Google.Protobuf;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Serialization.Onnx.Proto;
using GpuCnn.Tensors;

namespace GpuCnn.Serialization.Onnx;

/// <summary>
/// Writes a graph and its weights as an ONNX model: opset 17, IR version 8, float32, the batch axis dynamic unless
/// <see cref="OnnxExportOptions.BatchSize"/> fixes it, and every parameter (BatchNorm's running statistics
/// included) as an initialiser named by its full name (<c>conv1.weight</c>). The model computes the graph's
/// eval-mode forward pass. See docs/onnx.md for what each layer becomes.
/// <code>
/// OnnxExport.Save(graph, executor.Parameters, "lenet5.onnx");
/// </code>
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX IR version written.</summary>
    public const long IrVersion = 8;
    /// <summary>The opset of the default domain written.</summary>
    public const long Opset = 17;

    /// <summary>Exports with the weights held in <paramref name="store"/> (downloaded from its devices).</summary>
    /// <exception cref="OnnxFormatException">A layer has no ONNX form; the message names it and why.</exception>
    public static void Save(Graph graph, ParameterStore store, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        Save(graph, p => store.Get(p), path, options);
    }

    /// <summary>Exports with weights keyed by parameter full name (<c>conv1.weight</c>), e.g. <see cref="OnnxModel.Weights"/>.</summary>
    public static void Save(Graph graph, IReadOnlyDictionary<string, float[]> weights, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Save(graph, p => weights.TryGetValue(p.FullName, out var w) ? w
            : throw new OnnxFormatException(path, $"no weights for parameter {p.FullName}"), path, options);
    }

    /// <summary>Exports with the weights <paramref name="weightsOf"/> returns for each parameter.</summary>
    public static void Save(Graph graph, Func<Parameter, float[]> weightsOf, string path, OnnxExportOptions? options = null)
    {
        var bytes = ToBytes(graph, weightsOf, options, path);
        string tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The serialised model, for callers that keep it in memory (ONNX Runtime accepts the bytes).</summary>
    public static byte[] ToBytes(Graph graph, Func<Parameter, float[]> weightsOf, OnnxExportOptions? options = null, string? where = null) =>
        Build(graph, weightsOf, options ?? new OnnxExportOptions(), where ?? graph.Name).ToByteArray();

    internal static ModelProto Build(Graph graph, Func<Parameter, float[]> weightsOf, OnnxExportOptions options, string where)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var b = new OnnxGraphBuilder();
        b.Graph.Name = graph.Name;
        var values = new Dictionary<Node, string>();
        foreach (var node in graph.TopologicalOrder())
        {
            if (node.IsInput)
            {
                values[node] = b.Claim(node.Name);
                b.Graph.Input.Add(ValueInfo(node.Name, node.Shape, options));
                continue;
            }
            var layer = node.Layer!;
            var weights = new Dictionary<Parameter, string>();
            foreach (var p in layer.Parameters)
            {
                var w = weightsOf(p);
                if (w.Length != p.Shape.Size)
                    throw new OnnxFormatException(where, $"parameter {p.FullName} has {w.Length} values, its shape {p.Shape} needs {p.Shape.Size}");
                weights[p] = b.Floats(p.FullName, p.Shape.ToArray(), w, exactName: true);
            }
            var inputs = node.Inputs.Select(i => values[i]).ToArray();
            var ctx = new LayerExportContext(b, node, inputs, node.Inputs.Select(i => i.Shape).ToArray(), weights, where);
            values[node] = OnnxLayerExport.Export(ctx);
        }
        string output = values[graph.Output];
        if (graph.Output.IsInput || b.Graph.Input.Any(i => i.Name == output))
            output = b.Node("Identity", graph.Output.Name + "_out", new[] { output });
        b.Graph.Output.Add(ValueInfo(output, graph.Output.Shape, options));
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = options.ProducerName,
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "",
            DocString = options.DocString ?? "",
            Graph = b.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    static ValueInfoProto ValueInfo(string name, Shape sampleShape, OnnxExportOptions options)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(options.BatchSize is int n
            ? new TensorShapeProto.Types.Dimension { DimValue = n }
            : new TensorShapeProto.Types.Dimension { DimParam = options.BatchAxisName });
        foreach (var d in sampleShape.ToArray()) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}

/// <summary>An ONNX file that cannot be written or read; the message names the file (or model) and what is wrong.</summary>
public sealed class OnnxFormatException : Exception
{
    /// <summary>Creates the exception: <c>"&lt;where&gt;: &lt;problem&gt;"</c>.</summary>
    public OnnxFormatException(string where, string problem, Exception? inner = null) : base($"{where}: {problem}", inner)
    {
        Where = where;
        Problem = problem;
    }

    /// <summary>The file or model.</summary>
    public string Where { get; }
    /// <summary>What is wrong.</summary>
    public string Problem { get; }
}

using GpuCnn.Graphs;

namespace GpuCnn.Serialization.Onnx;

/// <summary>An imported ONNX model: a graph of GpuCnn layers and its weights, keyed by parameter full name.</summary>
public sealed class OnnxModel
{
    internal OnnxModel(Graph graph, Dictionary<string, float[]> weights)
    {
        Graph = graph;
        Weights = weights;
    }

    /// <summary>The graph; evaluate, train or export it like any other.</summary>
    public Graph Graph { get; }

    /// <summary>Every parameter's values (BatchNorm's running statistics included), keyed by <c>Parameter.FullName</c>.</summary>
    public IReadOnlyDictionary<string, float[]> Weights { get; }

    /// <summary>Uploads the weights into <paramref name="store"/> (an executor's <c>Parameters</c> for this graph).</summary>
    public void CopyTo(ParameterStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var p in Graph.Parameters) store.Set(p, Weights[p.FullName]);
    }
}

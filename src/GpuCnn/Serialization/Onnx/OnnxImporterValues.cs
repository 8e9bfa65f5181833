using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Serialization.Onnx.Proto;

namespace GpuCnn.Serialization.Onnx;

internal sealed partial class OnnxImporter
{
    /// <summary>Input <paramref name="i"/> of <paramref name="n"/> as a graph node (a tensor computed from the input).</summary>
    public Node Runtime(NodeProto n, int i) =>
        Input(n, i) as Node ?? throw Fail(n, $"input {i} ('{n.Input[i]}') must be computed from the graph input, not a constant");

    /// <summary>Input <paramref name="i"/> of <paramref name="n"/> as a constant (an initialiser or a folded value).</summary>
    public OnnxConst Const(NodeProto n, int i) =>
        Input(n, i) as OnnxConst ?? throw Fail(n, $"input {i} ('{n.Input[i]}') must be a constant (an initialiser or Constant)");

    /// <summary>True when the node has input <paramref name="i"/> (ONNX writes an empty name for a skipped optional input).</summary>
    public static bool HasInput(NodeProto n, int i) => n.Input.Count > i && n.Input[i].Length > 0;

    public object Input(NodeProto n, int i)
    {
        if (!HasInput(n, i)) throw Fail(n, $"input {i} is missing");
        return Values[n.Input[i]];
    }

    public bool IsConst(NodeProto n, int i) => HasInput(n, i) && Values[n.Input[i]] is OnnxConst;

    /// <summary>Sets the node's (first) output.</summary>
    public void Set(NodeProto n, object value)
    {
        if (n.Output.Count == 0) throw Fail(n, "the node has no output");
        Values[n.Output[0]] = value;
    }

    /// <summary>Adds the layer <paramref name="create"/> makes (named after <paramref name="n"/>) to the graph, as the node's output.</summary>
    public Node AddLayer(NodeProto n, Func<string?, Layer> create, params Node[] inputs)
    {
        string? name = Unique(n.Name);
        if (name is not null && Graph.Nodes.Any(g => g.Name == name)) name = null;
        Layer layer;
        try { layer = create(name); }
        catch (ArgumentException e) when (e is not Tensors.ShapeMismatchException) { throw Fail(n, e.Message); }
        Node node;
        try { node = Graph.Add(layer, inputs); }
        catch (ArgumentException e) { throw Fail(n, e.Message); }
        Set(n, node);
        return node;
    }

    /// <summary>Records a parameter's values after checking their count.</summary>
    public void Param(NodeProto n, Parameter p, float[] values)
    {
        if (values.Length != p.Shape.Size) throw Fail(n, $"{p.Name} has {values.Length} values, {p.Shape} needs {p.Shape.Size}");
        Weights[p.FullName] = values;
    }

    /// <summary>An attribute value as a small positive int (sizes, strides), or an error naming it.</summary>
    public int Small(NodeProto n, long v, string what, int min = 1)
    {
        if (v < min || v > 1 << 20) throw Fail(n, $"{what} {v} is out of range");
        return (int)v;
    }

    public OnnxAttributes Attributes(NodeProto n) => new(n, p => Fail(n, p));
}

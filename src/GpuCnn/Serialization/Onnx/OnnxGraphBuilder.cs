using Google.Protobuf;
using GpuCnn.Serialization.Onnx.Proto;

namespace GpuCnn.Serialization.Onnx;

/// <summary>Appends nodes and initialisers to an ONNX graph under unique value names.</summary>
internal sealed class OnnxGraphBuilder
{
    readonly HashSet<string> names = new(StringComparer.Ordinal);

    public GraphProto Graph { get; } = new();

    /// <summary>A value name not used yet: <paramref name="baseName"/>, else baseName_2, baseName_3, ...</summary>
    public string Fresh(string baseName)
    {
        string name = baseName;
        for (int i = 2; !names.Add(name); i++) name = $"{baseName}_{i}";
        return name;
    }

    /// <summary>Claims a name that must be exactly this (graph inputs, parameters).</summary>
    public string Claim(string name)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"ONNX export: the value name '{name}' is used twice");
        return name;
    }

    /// <summary>Adds a node with one output named from <paramref name="outputBase"/>; returns the output's name.</summary>
    public string Node(string op, string outputBase, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        string output = Fresh(outputBase);
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Adds a float32 initialiser (raw little-endian data, as exporters write it).</summary>
    public string Floats(string name, IReadOnlyList<int> dims, ReadOnlySpan<float> values, bool exactName = false)
    {
        var t = new TensorProto { Name = exactName ? Claim(name) : Fresh(name), DataType = (int)TensorProto.Types.DataType.Float };
        foreach (var d in dims) t.Dims.Add(d);
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), values[i]);
        if (!BitConverter.IsLittleEndian) ReverseEach(bytes, 4);
        t.RawData = ByteString.CopyFrom(bytes);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a 1-D int64 initialiser (shapes, axes, pads).</summary>
    public string Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = Fresh(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a float32 scalar initialiser.</summary>
    public string Scalar(string name, float value) => Floats(name, Array.Empty<int>(), new[] { value });

    static void ReverseEach(byte[] b, int width)
    {
        for (int i = 0; i < b.Length; i += width) Array.Reverse(b, i, width);
    }

    public static AttributeProto Int(string name, long v) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    public static AttributeProto Float(string name, float v) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
}

using System.Buffers.Binary;
using GpuCnn.Serialization.Onnx.Proto;

namespace GpuCnn.Serialization.Onnx;

/// <summary>A constant: an initialiser, a Constant node's value, or a folded shape computation.</summary>
internal sealed record OnnxConst(long[] Dims, float[]? Floats, long[]? Longs)
{
    public long Count => Floats?.Length ?? Longs!.Length;
    public long[] AsLongs() => Longs ?? Floats!.Select(f => (long)f).ToArray();
    public float[] AsFloats() => Floats ?? Longs!.Select(l => (float)l).ToArray();
}

/// <summary>Reads tensors and attributes, checking every size against the bytes actually present.</summary>
internal static class OnnxTensors
{
    /// <summary>No tensor or input GpuCnn imports is larger; a forged dimension fails here, before any allocation.</summary>
    public const long MaxElements = 1L << 28;

    public static long Elements(IEnumerable<long> dims, Func<string, Exception> fail)
    {
        long n = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw fail($"negative dimension {d}");
            if (d > MaxElements || (n = n * d) > MaxElements) throw fail($"more than {MaxElements} elements");
        }
        return n;
    }

    public static OnnxConst Read(TensorProto t, Func<string, Exception> fail)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External) throw fail("external data files are not supported");
        var dims = t.Dims.ToArray();
        long n = Elements(dims, fail);
        var type = (TensorProto.Types.DataType)t.DataType;
        int width = type switch
        {
            TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 => 4,
            TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Double => 8,
            _ => throw fail($"data type {type} is not supported (float32, float64, int32 and int64 are)"),
        };
        var raw = t.RawData.Span;
        long present = raw.Length > 0 ? raw.Length / width : type switch
        {
            TensorProto.Types.DataType.Float => t.FloatData.Count,
            TensorProto.Types.DataType.Int32 => t.Int32Data.Count,
            TensorProto.Types.DataType.Int64 => t.Int64Data.Count,
            _ => t.DoubleData.Count,
        };
        if (raw.Length % width != 0 || present != n)
            throw fail($"shape [{string.Join(", ", dims)}] needs {n} values, the tensor holds {present}");
        if (type == TensorProto.Types.DataType.Float)
        {
            var f = new float[n];
            if (raw.Length > 0) for (int i = 0; i < n; i++) f[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
            else t.FloatData.CopyTo(f, 0);
            return new(dims, f, null);
        }
        if (type == TensorProto.Types.DataType.Double)
        {
            var f = new float[n];
            for (int i = 0; i < n; i++) f[i] = (float)(raw.Length > 0 ? BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]) : t.DoubleData[i]);
            return new(dims, f, null);
        }
        var l = new long[n];
        for (int i = 0; i < n; i++)
            l[i] = raw.Length == 0 ? (type == TensorProto.Types.DataType.Int64 ? t.Int64Data[i] : t.Int32Data[i])
                : width == 8 ? BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]) : BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]);
        return new(dims, null, l);
    }
}

/// <summary>A node's attributes by name, with defaults and errors that name the node.</summary>
internal sealed class OnnxAttributes
{
    readonly Dictionary<string, AttributeProto> byName = new(StringComparer.Ordinal);
    readonly Func<string, Exception> fail;

    public OnnxAttributes(NodeProto node, Func<string, Exception> fail)
    {
        this.fail = fail;
        foreach (var a in node.Attribute) byName[a.Name] = a;
    }

    public bool Has(string name) => byName.ContainsKey(name);

    public long Int(string name, long fallback) =>
        byName.TryGetValue(name, out var a) ? Typed(a, AttributeProto.Types.AttributeType.Int).I : fallback;

    public float Float(string name, float fallback) =>
        byName.TryGetValue(name, out var a) ? Typed(a, AttributeProto.Types.AttributeType.Float).F : fallback;

    public string String(string name, string fallback) =>
        byName.TryGetValue(name, out var a) ? Typed(a, AttributeProto.Types.AttributeType.String).S.ToStringUtf8() : fallback;

    public long[] Ints(string name, long[] fallback) =>
        byName.TryGetValue(name, out var a) ? Typed(a, AttributeProto.Types.AttributeType.Ints).Ints.ToArray() : fallback;

    public TensorProto? Tensor(string name) =>
        byName.TryGetValue(name, out var a) ? Typed(a, AttributeProto.Types.AttributeType.Tensor).T : null;

    public AttributeProto? Raw(string name) => byName.GetValueOrDefault(name);

    AttributeProto Typed(AttributeProto a, AttributeProto.Types.AttributeType want)
    {
        // Old writers leave the type unset; the value field then says what it is.
        if (a.Type != want && a.Type != AttributeProto.Types.AttributeType.Undefined)
            throw fail($"attribute {a.Name} is {a.Type}, expected {want}");
        return a;
    }
}

using Google.Protobuf;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Serialization.Onnx.Proto;
using GpuCnn.Tensors;

namespace GpuCnn.Serialization.Onnx;

/// <summary>
/// Reads an ONNX model as a GpuCnn graph and its weights: the ops <see cref="OnnxExport"/> writes, and what
/// <c>torch.onnx.export</c> writes for CNNs (docs/onnx.md lists them). A malformed, truncated or forged file, or an
/// unsupported op, raises <see cref="OnnxFormatException"/> naming the file, the node and what is wrong.
/// <code>
/// var model = OnnxImport.Load("resnet18.onnx");
/// using var ex = new Executor(model.Graph, device, 32);
/// model.CopyTo(ex.Parameters);
/// </code>
/// </summary>
public static class OnnxImport
{
    /// <summary>Files larger than this are refused before reading (protobuf messages cannot exceed 2 GiB).</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <summary>Reads the model in <paramref name="path"/>.</summary>
    /// <exception cref="OnnxFormatException">The file is not a model GpuCnn can import; the message says why.</exception>
    public static OnnxModel Load(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new OnnxFormatException(path, "no such file");
            if (info.Length > MaxFileBytes) throw new OnnxFormatException(path, $"{info.Length} bytes is more than a protobuf message can hold");
            // Exactly the length the file system reports: a device such as /dev/zero (length 0) never streams forever.
            if (info.Length == 0) throw new OnnxFormatException(path, "empty, or not a regular file");
            bytes = new byte[info.Length];
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            f.ReadExactly(bytes);
        }
        catch (IOException e) { throw new OnnxFormatException(path, e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new OnnxFormatException(path, e.Message, e); }
        return Load(bytes, path);
    }

    /// <summary>Reads a model from its bytes; <paramref name="where"/> names it in errors.</summary>
    public static OnnxModel Load(byte[] bytes, string where = "model.onnx")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ModelProto model;
        try
        {
            // From a byte array every length is checked against the bytes left, so a forged length cannot allocate.
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e) { throw new OnnxFormatException(where, $"not a valid ONNX protobuf ({e.Message})", e); }
        if (model.Graph is null) throw new OnnxFormatException(where, "the model has no graph");
        if (model.IrVersion < 3) throw new OnnxFormatException(where, $"IR version {model.IrVersion} is older than GpuCnn reads (3 or later)");
        long opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        if (opset < 7) throw new OnnxFormatException(where, $"default-domain opset {opset} is older than GpuCnn reads (7 or later)");
        try
        {
            return new OnnxImporter(where, opset).Run(model.Graph);
        }
        catch (OnnxFormatException) { throw; }
        // A combination of values no check above anticipated still names the file, never escapes as a crash.
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException
                                     or OverflowException or KeyNotFoundException or InvalidCastException)
        {
            throw new OnnxFormatException(where, $"cannot import the model ({e.GetType().Name}: {e.Message})", e);
        }
    }
}

/// <summary>The state of one import: values by name (graph nodes or constants), consumers, and the weights.</summary>
internal sealed partial class OnnxImporter
{
    /// <summary>Stands for the batch dimension in shapes folded from Shape nodes.</summary>
    public const long BatchDim = -(1L << 40);

    readonly string where;
    readonly HashSet<string> layerNames = new(StringComparer.Ordinal);
    public readonly long Opset;
    public readonly Graph Graph = new();
    public readonly Dictionary<string, object> Values = new(StringComparer.Ordinal);
    public readonly Dictionary<string, List<NodeProto>> Consumers = new(StringComparer.Ordinal);
    public readonly HashSet<NodeProto> Done = new();
    public readonly Dictionary<string, float[]> Weights = new(StringComparer.Ordinal);
    readonly HashSet<string> graphOutputs = new(StringComparer.Ordinal);

    public OnnxImporter(string where, long opset)
    {
        this.where = where;
        Opset = opset;
    }

    public OnnxFormatException Fail(string problem) => new(where, problem);
    public OnnxFormatException Fail(NodeProto n, string problem) => new(where, $"node '{n.Name}' ({n.OpType}): {problem}");

    public OnnxModel Run(GraphProto g)
    {
        Graph.Name = string.IsNullOrEmpty(g.Name) ? "onnx" : g.Name;
        foreach (var t in g.Initializer)
        {
            if (string.IsNullOrEmpty(t.Name)) throw Fail("an initialiser has no name");
            if (!Values.TryAdd(t.Name, OnnxTensors.Read(t, p => Fail($"initialiser '{t.Name}': {p}"))))
                throw Fail($"initialiser '{t.Name}' is defined twice");
        }
        foreach (var input in g.Input.Where(i => !Values.ContainsKey(i.Name))) AddInput(input);
        if (!Values.Values.OfType<Node>().Any()) throw Fail("the graph has no input that is not an initialiser");
        if (g.Output.Count != 1) throw Fail($"the graph has {g.Output.Count} outputs; GpuCnn graphs have one");
        graphOutputs.Add(g.Output[0].Name);
        foreach (var n in g.Node)
            foreach (var i in n.Input.Where(i => i.Length > 0))
            {
                if (!Consumers.TryGetValue(i, out var list)) Consumers[i] = list = new();
                list.Add(n);
            }
        var order = Order(g);
        // Constants first: a chain recognised at its head (the LRN chain) reads scalars that come later in the file.
        foreach (var n in order.Where(n => n.OpType == "Constant" && n.Input.Count == 0))
        {
            OnnxOpImport.Import(this, n);
            Done.Add(n);
        }
        foreach (var n in order)
            if (!Done.Contains(n)) OnnxOpImport.Import(this, n);
        if (!Values.TryGetValue(g.Output[0].Name, out var output) || output is not Node outNode)
            throw Fail($"the graph output '{g.Output[0].Name}' is not computed from the input");
        Graph.Output = outNode;
        return new OnnxModel(Graph, Weights);
    }

    void AddInput(ValueInfoProto input)
    {
        string what = $"graph input '{input.Name}'";
        var tensor = input.Type?.TensorType ?? throw Fail($"{what} is not a tensor");
        if (tensor.ElemType != (int)TensorProto.Types.DataType.Float) throw Fail($"{what} has element type {tensor.ElemType}; GpuCnn reads float32 (1)");
        var dims = tensor.Shape?.Dim ?? throw Fail($"{what} has no shape");
        if (dims.Count < 2) throw Fail($"{what} has rank {dims.Count}; GpuCnn needs a batch axis and a sample shape");
        var sample = new long[dims.Count - 1];
        for (int i = 1; i < dims.Count; i++)
        {
            if (dims[i].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || dims[i].DimValue <= 0)
                throw Fail($"{what}: dimension {i} must be a fixed positive size (only the batch axis may be dynamic)");
            sample[i - 1] = dims[i].DimValue;
        }
        OnnxTensors.Elements(sample, p => Fail($"{what}: {p}"));
        Values[input.Name] = Graph.Input(new Shape(sample.Select(d => (int)d).ToArray()), Unique(input.Name) ?? throw Fail($"{what}: the name is used twice"));
    }

    /// <summary>The nodes in dependency order (Kahn's algorithm); a missing value or a cycle is an error.</summary>
    List<NodeProto> Order(GraphProto g)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in g.Node)
            foreach (var o in n.Output.Where(o => o.Length > 0))
                if (Values.ContainsKey(o) || !producer.TryAdd(o, n)) throw Fail(n, $"output '{o}' is defined twice");
        var pending = new Dictionary<NodeProto, int>();
        var readers = new Dictionary<NodeProto, List<NodeProto>>();
        foreach (var n in g.Node)
        {
            int waits = 0;
            foreach (var i in n.Input.Where(i => i.Length > 0))
            {
                if (producer.TryGetValue(i, out var p)) { waits++; (readers.TryGetValue(p, out var l) ? l : readers[p] = new()).Add(n); }
                else if (!Values.ContainsKey(i)) throw Fail(n, $"input '{i}' is not a graph input, an initialiser or any node's output");
            }
            pending[n] = waits;
        }
        // Ties go to the earlier node in the file, so a file already in order (as ONNX requires) keeps its order.
        var index = new Dictionary<NodeProto, int>();
        for (int i = 0; i < g.Node.Count; i++) index[g.Node[i]] = i;
        var ready = new SortedSet<int>(Enumerable.Range(0, g.Node.Count).Where(i => pending[g.Node[i]] == 0));
        var order = new List<NodeProto>(g.Node.Count);
        while (ready.Count > 0)
        {
            var n = g.Node[ready.Min];
            ready.Remove(ready.Min);
            order.Add(n);
            foreach (var r in readers.GetValueOrDefault(n) ?? new())
                if (--pending[r] == 0) ready.Add(index[r]);
        }
        if (order.Count != g.Node.Count)
            throw Fail(g.Node.First(n => pending[n] > 0), "the graph has a cycle through this node");
        return order;
    }

    /// <summary>A layer name from the ONNX node's name, or null (the graph then numbers it) when empty or taken.</summary>
    public string? Unique(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || !layerNames.Add(name)) return null;
        return name;
    }

    public bool IsGraphOutput(string value) => graphOutputs.Contains(value);

    /// <summary>The one consumer of <paramref name="value"/> when it is a <paramref name="op"/> node (and the value is not the graph output).</summary>
    public NodeProto? Single(string value, string op)
    {
        if (IsGraphOutput(value) || !Consumers.TryGetValue(value, out var c) || c.Count != 1 || c[0].OpType != op || Done.Contains(c[0])) return null;
        return c[0];
    }
}

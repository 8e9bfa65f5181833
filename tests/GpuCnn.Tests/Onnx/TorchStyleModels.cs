using Google.Protobuf;
using GpuCnn.Serialization.Onnx.Proto;

namespace GpuCnn.Tests.Onnx;

/// <summary>
/// ONNX graphs written the way <c>torch.onnx.export</c> writes CNNs: Constant nodes for scalars, the Shape → Gather →
/// Unsqueeze → Concat → Reshape flatten idiom, MatMul + Add for Linear, Gemm without transB, Identity, Dropout and
/// the LRN chain of primitive ops (Mul, Unsqueeze, Pad, AveragePool, Squeeze, Mul, Add, Pow, Div).
/// </summary>
internal sealed class TorchStyleModels
{
    readonly GraphProto g = new() { Name = "torch_style" };
    readonly Random rng;
    int counter;

    TorchStyleModels(int seed) => rng = new Random(seed);

    /// <summary>[N, 3, 12, 12] → 10 logits, through every idiom above.</summary>
    public static byte[] Cnn(int seed = 7, int lrnSize = 4)
    {
        var m = new TorchStyleModels(seed);
        m.g.Input.Add(Value("x", 3, 12, 12));
        string h = m.Node("Conv", new[] { "x", m.Init("conv1.weight", 0.3, 8, 3, 3, 3), m.Init("conv1.bias", 0.1, 8) },
            Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1), Ints("strides", 1, 1), Ints("dilations", 1, 1), Int("group", 1));
        h = m.Node("BatchNormalization", new[] { h, m.Positive("bn.weight", 8), m.Init("bn.bias", 0.2, 8), m.Init("bn.running_mean", 0.2, 8),
            m.Positive("bn.running_var", 8) }, Float("epsilon", 1e-5f), Float("momentum", 0.9f));
        h = m.Node("Relu", new[] { h });
        h = m.LrnChain(h, lrnSize, 1e-2f, 0.75f, 2f);
        // An even kernel with 'same' padding: PyTorch writes the asymmetric pads explicitly.
        h = m.Node("Conv", new[] { h, m.Init("conv2.weight", 0.2, 8, 8, 4, 4) }, Ints("kernel_shape", 4, 4), Ints("pads", 1, 1, 2, 2));
        h = m.Node("MaxPool", new[] { h }, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), Ints("pads", 0, 0, 0, 0), Int("ceil_mode", 0));
        h = m.Node("Identity", new[] { h });
        string shape = m.Node("Shape", new[] { h });
        string batch = m.Node("Gather", new[] { shape, m.Constant(Int64Tensor(Array.Empty<long>(), 0)) }, Int("axis", 0));
        string b1 = m.Node("Unsqueeze", new[] { batch, m.Constant(Int64Tensor(new long[] { 1 }, 0)) });
        string target = m.Node("Concat", new[] { b1, m.Constant(Int64Tensor(new long[] { 1 }, -1)) }, Int("axis", 0));
        h = m.Node("Reshape", new[] { h, target });
        h = m.Node("MatMul", new[] { h, m.Init("fc1.weight_t", 0.05, 8 * 6 * 6, 16) });
        h = m.Node("Add", new[] { m.Init("fc1.bias", 0.1, 16), h });
        h = m.Node("Relu", new[] { h });
        h = m.Node("Dropout", new[] { h });
        h = m.Node("Gemm", new[] { h, m.Init("fc2.weight_t", 0.3, 16, 10), m.Init("fc2.bias", 0.1, 10) }, Float("alpha", 1f), Float("beta", 1f));
        m.g.Output.Add(Value(h, 10));
        var model = new ModelProto { IrVersion = 8, ProducerName = "pytorch", ProducerVersion = "2.5.0", Graph = m.g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model.ToByteArray();
    }

    string LrnChain(string x, int size, float alpha, float beta, float k)
    {
        string sq = Node("Mul", new[] { x, x });
        string u = Node("Unsqueeze", new[] { sq, Constant(Int64Tensor(new long[] { 1 }, 1)) });
        string p = Node("Pad", new[] { u, Constant(Int64Tensor(new long[] { 10 }, 0, 0, size / 2, 0, 0, 0, 0, (size - 1) / 2, 0, 0)) }, Str("mode", "constant"));
        string avg = Node("AveragePool", new[] { p }, Ints("kernel_shape", size, 1, 1), Ints("strides", 1, 1, 1));
        string s = Node("Squeeze", new[] { avg, Constant(Int64Tensor(new long[] { 1 }, 1)) });
        string scaled = Node("Mul", new[] { s, Constant(FloatScalar(alpha)) });
        string shifted = Node("Add", new[] { scaled, Constant(FloatScalar(k)) });
        string pow = Node("Pow", new[] { shifted, Constant(FloatScalar(beta)) });
        return Node("Div", new[] { x, pow });
    }

    public string Node(string op, string[] inputs, params AttributeProto[] attributes)
    {
        string name = $"/{op}_{counter++}";
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(name + "_output_0");
        n.Attribute.AddRange(attributes);
        g.Node.Add(n);
        return n.Output[0];
    }

    string Constant(TensorProto value) => Node("Constant", Array.Empty<string>(), new AttributeProto
    {
        Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value,
    });

    string Init(string name, double scale, params int[] dims)
    {
        long n = dims.Aggregate(1L, (a, d) => a * d);
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(dims.Select(d => (long)d));
        t.FloatData.AddRange(Enumerable.Range(0, (int)n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)));
        g.Initializer.Add(t);
        return name;
    }

    string Positive(string name, int count)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.Add(count);
        t.FloatData.AddRange(Enumerable.Range(0, count).Select(_ => 0.5f + (float)rng.NextDouble()));
        g.Initializer.Add(t);
        return name;
    }

    public static TensorProto Int64Tensor(long[] dims, params long[] values)
    {
        var t = new TensorProto { DataType = 7 };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        return t;
    }

    static TensorProto FloatScalar(float v)
    {
        var t = new TensorProto { DataType = 1 };
        t.FloatData.Add(v);
        return t;
    }

    public static ValueInfoProto Value(string name, params int[] sample)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (var d in sample) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    public static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    public static AttributeProto Str(string name, string v) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };
    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Serialization.Onnx.Proto;

namespace GpuCnn.Serialization.Onnx;

/// <summary>Maps each ONNX op to GpuCnn layers or folded constants (the import column of docs/onnx.md).</summary>
internal static partial class OnnxOpImport
{
    /// <summary>The ops GpuCnn imports, for the unsupported-op error.</summary>
    public const string Supported = "Conv, Gemm, MatMul(+Add), Relu, Tanh, Sigmoid, LeakyRelu, Elu, MaxPool, AveragePool, " +
        "Neg→MaxPool→Neg, LRN (and PyTorch's LRN chain), BatchNormalization, Dropout, Identity, Concat, Add, Sum, " +
        "GlobalAveragePool, Flatten, Reshape, Softmax, Tile, Constant, Shape, Gather, Unsqueeze, Squeeze";

    public static void Import(OnnxImporter im, NodeProto n)
    {
        if (n.Domain is not ("" or "ai.onnx"))
            throw im.Fail(n, $"domain '{n.Domain}' is not supported (only the default ONNX domain); supported ops: {Supported}");
        if (n.Output.Count == 0 || n.Output[0].Length == 0) throw im.Fail(n, "the node has no output");
        switch (n.OpType)
        {
            case "Conv": Conv(im, n); break;
            case "Gemm": Gemm(im, n); break;
            case "MatMul": MatMul(im, n); break;
            case "Relu": if (!StochasticChain(im, n)) Unary(im, n, name => new ReLU(name)); break;
            case "Tanh": Unary(im, n, name => new Tanh(name)); break;
            case "Sigmoid": Unary(im, n, name => new Sigmoid(name)); break;
            case "LeakyRelu": Unary(im, n, name => new LeakyReLU(im.Attributes(n).Float("alpha", 0.01f), name)); break;
            case "Elu": Unary(im, n, name => new ELU(im.Attributes(n).Float("alpha", 1f), name)); break;
            case "MaxPool": Pool(im, n, max: true); break;
            case "AveragePool": Pool(im, n, max: false); break;
            case "Neg": MinPool(im, n); break;
            case "LRN": Lrn(im, n); break;
            case "Mul": LrnChain(im, n); break;
            case "BatchNormalization": BatchNorm(im, n); break;
            case "Dropout" or "Identity":
                if (n.Output.Count > 1 && n.Output[1].Length > 0 && im.Consumers.ContainsKey(n.Output[1]))
                    throw im.Fail(n, "the dropout mask output is read; GpuCnn imports the inference form only");
                im.Set(n, im.Input(n, 0));
                break;
            case "Concat": Concat(im, n); break;
            case "Add" or "Sum": Sum(im, n); break;
            case "GlobalAveragePool": Unary(im, n, name => new GlobalAvgPool2d(name)); break;
            case "Flatten": Flatten(im, n); break;
            case "Softmax": Softmax(im, n); break;
            case "Constant": Constant(im, n); break;
            case "Shape": Shape(im, n); break;
            case "Gather": Gather(im, n); break;
            case "Unsqueeze" or "Squeeze": Squeeze(im, n, n.OpType == "Unsqueeze"); break;
            case "Reshape": Reshape(im, n); break;
            case "Tile": Tile(im, n); break;
            default: throw im.Fail(n, $"op type {n.OpType} is not supported; supported ops: {Supported}");
        }
    }

    static void Unary(OnnxImporter im, NodeProto n, Func<string?, Layer> create) => im.AddLayer(n, create, im.Runtime(n, 0));

    static void Conv(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var w = im.Const(n, 1);
        var b = OnnxImporter.HasInput(n, 2) ? im.Const(n, 2) : null;
        if (w.Dims.Length != 4) throw im.Fail(n, $"the weight has rank {w.Dims.Length}; GpuCnn imports 2-D convolutions (rank 4)");
        if (x.Shape.Rank != 3) throw im.Fail(n, $"the input has per-sample shape {x.Shape}; expected [C, H, W]");
        var a = im.Attributes(n);
        int groups = im.Small(n, a.Int("group", 1), "group");
        var k = a.Ints("kernel_shape", new[] { w.Dims[2], w.Dims[3] });
        if (k.Length != 2 || k[0] != w.Dims[2] || k[1] != w.Dims[3])
            throw im.Fail(n, $"kernel_shape [{string.Join(", ", k)}] does not match the weight's [{string.Join(", ", w.Dims)}]");
        var s = Pair(im, n, a.Ints("strides", new[] { 1L, 1 }), "strides");
        var d = Pair(im, n, a.Ints("dilations", new[] { 1L, 1 }), "dilations");
        int kh = (int)w.Dims[2], kw = (int)w.Dims[3], outC = (int)w.Dims[0], inC = (int)w.Dims[1] * groups;
        Padding padding;
        switch (a.String("auto_pad", "NOTSET"))
        {
            case "SAME_UPPER": padding = Padding.Same; break;
            case "VALID": padding = Padding.Valid; break;
            case "NOTSET":
                var p = a.Ints("pads", new long[4]);
                if (p.Length != 4 || p.Any(v => v < 0 || v > 1 << 20)) throw im.Fail(n, $"pads [{string.Join(", ", p)}] must be 4 values ≥ 0");
                if (p[0] == p[2] && p[1] == p[3]) padding = Padding.Explicit((int)p[0], (int)p[1]);
                else if (SamePads(x.Shape[1], kh, s.H, d.H) == (p[0], p[2]) && SamePads(x.Shape[2], kw, s.W, d.W) == (p[1], p[3]))
                    padding = Padding.Same;
                else throw im.Fail(n, $"asymmetric pads [{string.Join(", ", p)}] are supported only where they are 'same' padding");
                break;
            default: throw im.Fail(n, $"auto_pad {a.String("auto_pad", "")} is not supported (NOTSET, SAME_UPPER and VALID are)");
        }
        var node = im.AddLayer(n, name => new Conv2d(inC, outC, (kh, kw), s, padding, d, groups, bias: b is not null, name), x);
        var conv = (Conv2d)node.Layer!;
        im.Param(n, conv.Weight, w.AsFloats());
        if (b is not null) im.Param(n, conv.Bias!, b.AsFloats());
    }

    /// <summary>The begin and end pads of 'same' padding along one axis (the odd pixel at the end).</summary>
    public static (long Begin, long End) SamePads(int size, int k, int s, int d)
    {
        int o = (size + s - 1) / s;
        int total = Math.Max((o - 1) * s + d * (k - 1) + 1 - size, 0);
        return (total / 2, total - total / 2);
    }

    static (int H, int W) Pair(OnnxImporter im, NodeProto n, long[] v, string what)
    {
        if (v.Length != 2) throw im.Fail(n, $"{what} has {v.Length} values; GpuCnn imports 2-D ops");
        return (im.Small(n, v[0], what), im.Small(n, v[1], what));
    }

    static void Gemm(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var bm = im.Const(n, 1);
        var a = im.Attributes(n);
        if (a.Int("transA", 0) != 0) throw im.Fail(n, "transA = 1 is not supported (the batch is the rows of A)");
        if (bm.Dims.Length != 2) throw im.Fail(n, $"B has rank {bm.Dims.Length}, expected 2");
        bool transB = a.Int("transB", 0) != 0;
        float alpha = a.Float("alpha", 1f), beta = a.Float("beta", 1f);
        int outF = (int)(transB ? bm.Dims[0] : bm.Dims[1]), inF = (int)(transB ? bm.Dims[1] : bm.Dims[0]);
        var w = transB ? bm.AsFloats() : Transpose(bm.AsFloats(), inF, outF);
        if (alpha != 1f) for (int i = 0; i < w.Length; i++) w[i] *= alpha;
        float[]? bias = null;
        if (OnnxImporter.HasInput(n, 2))
        {
            var c = im.Const(n, 2).AsFloats();
            if (c.Length != outF && c.Length != 1) throw im.Fail(n, $"C has {c.Length} values; expected {outF} (one per output) or 1");
            bias = Enumerable.Range(0, outF).Select(i => beta * c[c.Length == 1 ? 0 : i]).ToArray();
        }
        AddLinear(im, n, x, inF, outF, w, bias);
    }

    /// <summary>MatMul by a constant [in, out], with the Add of a constant bias that follows it (PyTorch's Linear).</summary>
    static void MatMul(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var bm = im.Const(n, 1);
        if (bm.Dims.Length != 2) throw im.Fail(n, $"the constant operand has rank {bm.Dims.Length}, expected 2 ([in, out])");
        int inF = (int)bm.Dims[0], outF = (int)bm.Dims[1];
        var w = Transpose(bm.AsFloats(), inF, outF);
        float[]? bias = null;
        var add = im.Single(n.Output[0], "Add");
        if (add is not null)
        {
            int other = add.Input[0] == n.Output[0] ? 1 : 0;
            if (im.IsConst(add, other) && im.Const(add, other).Count == outF)
            {
                bias = im.Const(add, other).AsFloats();
                im.Done.Add(add);
            }
            else add = null;
        }
        var node = AddLinear(im, n, x, inF, outF, w, bias);
        if (add is not null) im.Set(add, node);
    }

    static Node AddLinear(OnnxImporter im, NodeProto n, Node x, int inF, int outF, float[] w, float[]? bias)
    {
        if (x.Shape.Rank != 1) throw im.Fail(n, $"the input has per-sample shape {x.Shape}; expected a vector (flatten first)");
        var node = im.AddLayer(n, name => new Linear(inF, outF, bias is not null, name), x);
        var fc = (Linear)node.Layer!;
        im.Param(n, fc.Weight, w);
        if (bias is not null) im.Param(n, fc.Bias!, bias);
        return node;
    }

    static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        return t;
    }

    static void BatchNorm(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var a = im.Attributes(n);
        if (a.Int("training_mode", 0) != 0) throw im.Fail(n, "training_mode = 1 is not supported (the inference form is)");
        int c = x.Shape.Rank > 0 ? x.Shape[0] : 0;
        var p = Enumerable.Range(1, 4).Select(i => im.Const(n, i).AsFloats()).ToArray();
        if (p.Any(v => v.Length != c)) throw im.Fail(n, $"scale, B, mean and var must have {c} values (one per channel)");
        var node = im.AddLayer(n, name => new BatchNorm2d(c, a.Float("epsilon", 1e-5f), 1f - a.Float("momentum", 0.9f), name), x);
        var bn = (BatchNorm2d)node.Layer!;
        im.Param(n, bn.Weight, p[0]);
        im.Param(n, bn.Bias, p[1]);
        im.Param(n, bn.RunningMean, p[2]);
        im.Param(n, bn.RunningVar, p[3]);
    }
}

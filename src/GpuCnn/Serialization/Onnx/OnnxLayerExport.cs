using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using static GpuCnn.Serialization.Onnx.OnnxGraphBuilder;

namespace GpuCnn.Serialization.Onnx;

/// <summary>One node to export: its inputs' value names and per-sample shapes, and its parameters' initialisers.</summary>
internal sealed record LayerExportContext(OnnxGraphBuilder B, Node Node, string[] Inputs, Shape[] InputShapes,
    Dictionary<Parameter, string> Weights, string Where)
{
    public Layer Layer => Node.Layer!;
    public string Name => Node.Name;
    public OnnxFormatException Unsupported(string why) => new(Where, $"{Layer.Describe()} cannot be exported to ONNX: {why}");
}

/// <summary>The ONNX form of each catalogue layer in eval mode (the table in docs/onnx.md).</summary>
internal static class OnnxLayerExport
{
    /// <summary>Emits the layer's nodes; returns the name of the value holding its output.</summary>
    public static string Export(LayerExportContext c)
    {
        var b = c.B;
        string x = c.Inputs.Length > 0 ? c.Inputs[0] : "";
        return c.Layer switch
        {
            Conv2d conv => Conv(c, conv),
            Linear fc => b.Node("Gemm", c.Name, fc.Bias is null
                    ? new[] { Flat(c, x), c.Weights[fc.Weight] }
                    : new[] { Flat(c, x), c.Weights[fc.Weight], c.Weights[fc.Bias] },
                Int("transB", 1)),
            ReLU => b.Node("Relu", c.Name, new[] { x }),
            Tanh => b.Node("Tanh", c.Name, new[] { x }),
            Sigmoid => b.Node("Sigmoid", c.Name, new[] { x }),
            LeakyReLU l => b.Node("LeakyRelu", c.Name, new[] { x }, Float("alpha", l.NegativeSlope)),
            ELU e => b.Node("Elu", c.Name, new[] { x }, Float("alpha", e.Alpha)),
            MaxPool2d p => b.Node("MaxPool", c.Name, new[] { x }, PoolAttributes(p)),
            MinPool2d p => b.Node("Neg", c.Name, new[] {
                b.Node("MaxPool", c.Name + "_max", new[] { b.Node("Neg", c.Name + "_neg", new[] { x }) }, PoolAttributes(p)) }),
            AvgPool2d p => b.Node("AveragePool", c.Name, new[] { x }, AvgAttributes(p)),
            StochasticPool2d p => Stochastic(c, p, x),
            LocalResponseNorm lrn => Lrn(c, lrn, x),
            BatchNorm2d bn => b.Node("BatchNormalization", c.Name,
                new[] { x, c.Weights[bn.Weight], c.Weights[bn.Bias], c.Weights[bn.RunningMean], c.Weights[bn.RunningVar] },
                Float("epsilon", bn.Eps), Float("momentum", 1f - bn.Momentum)),
            Dropout => x,
            Flatten => c.InputShapes[0].Rank == 1 ? x : b.Node("Flatten", c.Name, new[] { x }, Int("axis", 1)),
            Concat => b.Node("Concat", c.Name, c.Inputs, Int("axis", 1)),
            Add => b.Node(c.Inputs.Length == 2 ? "Add" : "Sum", c.Name, c.Inputs),
            GlobalAvgPool2d => b.Node("GlobalAveragePool", c.Name, new[] { x }),
            AdaptiveAvgPool2d a => Adaptive(c, a, x),
            Softmax => b.Node("Softmax", c.Name, new[] { x }, Int("axis", 1)),
            _ => throw c.Unsupported($"no ONNX mapping for layer type {c.Layer.TypeName}"),
        };
    }

    /// <summary>Gemm takes [N, K]: a Linear that reads an image (GpuCnn flattens implicitly) gets an explicit Flatten.</summary>
    static string Flat(LayerExportContext c, string x) =>
        c.InputShapes[0].Rank == 1 ? x : c.B.Node("Flatten", c.Name + "_flatten", new[] { x }, Int("axis", 1));

    static string Conv(LayerExportContext c, Conv2d conv)
    {
        var s = c.InputShapes[0];
        var (top, bottom) = Pads(conv, s[1], conv.KernelSize.H, conv.Stride.H, conv.Dilation.H, conv.Padding.Top);
        var (left, right) = Pads(conv, s[2], conv.KernelSize.W, conv.Stride.W, conv.Dilation.W, conv.Padding.Left);
        var inputs = new List<string> { c.Inputs[0], c.Weights[conv.Weight] };
        if (conv.Bias is not null) inputs.Add(c.Weights[conv.Bias]);
        return c.B.Node("Conv", c.Name, inputs,
            Ints("kernel_shape", conv.KernelSize.H, conv.KernelSize.W),
            Ints("strides", conv.Stride.H, conv.Stride.W),
            Ints("pads", top, left, bottom, right),
            Ints("dilations", conv.Dilation.H, conv.Dilation.W),
            Int("group", conv.Groups));
    }

    /// <summary>Begin and end padding along one axis; 'same' puts the odd pixel at the end, as Conv2d does.</summary>
    static (long Begin, long End) Pads(Conv2d conv, int size, int k, int s, int d, int explicitPad)
    {
        if (!conv.Padding.IsSame) return (explicitPad, explicitPad);
        int eff = d * (k - 1) + 1;
        int o = (size + s - 1) / s;
        int total = Math.Max((o - 1) * s + eff - size, 0);
        return (total / 2, total - total / 2);
    }

    static Proto.AttributeProto[] PoolAttributes(Pool2d p) => new[]
    {
        Ints("kernel_shape", p.KernelSize, p.KernelSize),
        Ints("strides", p.Stride, p.Stride),
        Ints("pads", p.PaddingSize, p.PaddingSize, p.PaddingSize, p.PaddingSize),
        Int("ceil_mode", p.CeilMode ? 1 : 0),
    };

    /// <summary>GpuCnn divides by the window clipped to the padded input: ONNX's count_include_pad = 1.</summary>
    static Proto.AttributeProto[] AvgAttributes(Pool2d p) => PoolAttributes(p).Append(Int("count_include_pad", 1)).ToArray();

    /// <summary>
    /// Eval-mode stochastic pooling, Σa⁺² / Σa⁺ over each window (a⁺ = max(a, 0)), as AveragePool(r·r) / AveragePool(r)
    /// with r = Relu(x): both averages share the divisor, which cancels. A window with no positive value has
    /// numerator 0, so the denominator is clamped away from 0 to give 0 there, as GpuCnn does.
    /// </summary>
    static string Stochastic(LayerExportContext c, StochasticPool2d p, string x)
    {
        var b = c.B;
        string r = b.Node("Relu", c.Name + "_pos", new[] { x });
        string q = b.Node("AveragePool", c.Name + "_sq_avg", new[] { b.Node("Mul", c.Name + "_sq", new[] { r, r }) }, AvgAttributes(p));
        string s = b.Node("AveragePool", c.Name + "_avg", new[] { r }, AvgAttributes(p));
        string den = b.Node("Max", c.Name + "_den", new[] { s, b.Scalar(c.Name + "_tiny", 1e-30f) });
        return b.Node("Div", c.Name, new[] { q, den });
    }

    /// <summary>
    /// PyTorch and ONNX agree on LRN's α/n and window for odd sizes. For even sizes ONNX centres the window one
    /// channel later than PyTorch, so those get PyTorch's own chain: the squares averaged over a zero-padded window
    /// of channels by a 3-D AveragePool, then x / (k + α·avg)^β.
    /// </summary>
    static string Lrn(LayerExportContext c, LocalResponseNorm lrn, string x)
    {
        var b = c.B;
        if (lrn.Size % 2 == 1)
            return b.Node("LRN", c.Name, new[] { x }, Float("alpha", lrn.Alpha), Float("beta", lrn.Beta),
                Float("bias", lrn.K), Int("size", lrn.Size));
        if (c.InputShapes[0].Rank != 3) throw c.Unsupported("an even-sized LRN is exported for [C, H, W] inputs only");
        string sq = b.Node("Mul", c.Name + "_sq", new[] { x, x });
        string u = b.Node("Unsqueeze", c.Name + "_5d", new[] { sq, b.Int64s(c.Name + "_axes", 1) });
        long before = lrn.Size / 2, after = (lrn.Size - 1) / 2;
        string padded = b.Node("Pad", c.Name + "_pad", new[] { u, b.Int64s(c.Name + "_pads", 0, 0, before, 0, 0, 0, 0, after, 0, 0) });
        string avg = b.Node("AveragePool", c.Name + "_avg", new[] { padded }, Ints("kernel_shape", lrn.Size, 1, 1), Ints("strides", 1, 1, 1));
        string sq4 = b.Node("Squeeze", c.Name + "_4d", new[] { avg, b.Int64s(c.Name + "_axes", 1) });
        string scaled = b.Node("Mul", c.Name + "_scaled", new[] { sq4, b.Scalar(c.Name + "_alpha", lrn.Alpha) });
        string shifted = b.Node("Add", c.Name + "_shifted", new[] { scaled, b.Scalar(c.Name + "_k", lrn.K) });
        string denom = b.Node("Pow", c.Name + "_pow", new[] { shifted, b.Scalar(c.Name + "_beta", lrn.Beta) });
        return b.Node("Div", c.Name, new[] { x, denom });
    }

    static string Adaptive(LayerExportContext c, AdaptiveAvgPool2d a, string x)
    {
        var s = c.InputShapes[0];
        if (a.OutputH == 1 && a.OutputW == 1) return c.B.Node("GlobalAveragePool", c.Name, new[] { x });
        if (a.OutputH == s[1] && a.OutputW == s[2]) return x;
        // A 1×1 input (AlexNet below 100×100 pixels) is replicated into every cell.
        if (s[1] == 1 && s[2] == 1)
            return c.B.Node("Tile", c.Name, new[] { x, c.B.Int64s(c.Name + "_repeats", 1, 1, a.OutputH, a.OutputW) });
        if (s[1] % a.OutputH != 0 || s[2] % a.OutputW != 0)
            throw c.Unsupported($"ONNX has no adaptive pooling, and the input {s[1]}×{s[2]} does not divide into {a.OutputH}×{a.OutputW} " +
                "equal windows (export at an image size where it does)");
        int kh = s[1] / a.OutputH, kw = s[2] / a.OutputW;
        // The attributes AvgPool2d writes, so that a square window re-exports identically after an import.
        return c.B.Node("AveragePool", c.Name, new[] { x }, Ints("kernel_shape", kh, kw), Ints("strides", kh, kw),
            Ints("pads", 0, 0, 0, 0), Int("ceil_mode", 0), Int("count_include_pad", 1));
    }
}

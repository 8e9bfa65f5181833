using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Serialization.Onnx.Proto;

namespace GpuCnn.Serialization.Onnx;

internal static partial class OnnxOpImport
{
    readonly record struct PoolGeometry(int K, int S, int P, bool Ceil, bool CountIncludePad);

    /// <summary>A square 2-D pooling window with equal pads on every side: what GpuCnn's pooling layers take.</summary>
    static PoolGeometry SquarePool(OnnxImporter im, NodeProto n, Node x)
    {
        if (n.Output.Count > 1 && n.Output[1].Length > 0 && im.Consumers.ContainsKey(n.Output[1]))
            throw im.Fail(n, "the Indices output is read; GpuCnn imports pooling values only");
        var a = im.Attributes(n);
        var k = a.Ints("kernel_shape", Array.Empty<long>());
        var s = a.Ints("strides", new[] { 1L, 1 });
        var p = a.Ints("pads", new long[4]);
        if (k.Length != 2 || s.Length != 2 || p.Length != 4) throw im.Fail(n, "GpuCnn imports 2-D pooling (kernel_shape, strides and pads of 2, 2 and 4 values)");
        if (a.Ints("dilations", new[] { 1L, 1 }).Any(d => d != 1)) throw im.Fail(n, "dilated pooling is not supported");
        if (a.String("auto_pad", "NOTSET") is not ("NOTSET" or "VALID")) throw im.Fail(n, "auto_pad SAME_* is not supported for pooling");
        if (x.Shape.Rank != 3) throw im.Fail(n, $"the input has per-sample shape {x.Shape}; expected [C, H, W]");
        if (k[0] != k[1] || s[0] != s[1]) throw im.Fail(n, $"window [{k[0]}, {k[1]}] stride [{s[0]}, {s[1]}]: GpuCnn pools with square windows and strides");
        if (p.Any(v => v != p[0])) throw im.Fail(n, $"pads [{string.Join(", ", p)}]: GpuCnn pools pad every side equally");
        return new(im.Small(n, k[0], "kernel size"), im.Small(n, s[0], "stride"), im.Small(n, p[0], "padding", 0),
            a.Int("ceil_mode", 0) != 0, a.Int("count_include_pad", 0) != 0);
    }

    static void Pool(OnnxImporter im, NodeProto n, bool max)
    {
        var x = im.Runtime(n, 0);
        if (!max && Adaptive(im, n, x)) return;
        var g = SquarePool(im, n, x);
        if (max) im.AddLayer(n, name => new MaxPool2d(g.K, g.S, g.P, g.Ceil, name), x);
        else
        {
            if (g.P > 0 && !g.CountIncludePad)
                throw im.Fail(n, "count_include_pad = 0 with padding is not supported (GpuCnn's AvgPool2d counts the padding, as PyTorch's default)");
            im.AddLayer(n, name => new AvgPool2d(g.K, g.S, g.P, g.Ceil, name), x);
        }
    }

    /// <summary>A rectangular AveragePool whose windows tile the input exactly: how adaptive pooling is exported.</summary>
    static bool Adaptive(OnnxImporter im, NodeProto n, Node x)
    {
        var a = im.Attributes(n);
        var k = a.Ints("kernel_shape", Array.Empty<long>());
        var s = a.Ints("strides", new[] { 1L, 1 });
        if (k.Length != 2 || s.Length != 2 || (k[0] == k[1] && s[0] == s[1]) || x.Shape.Rank != 3) return false;
        if (!k.SequenceEqual(s) || a.Ints("pads", new long[4]).Any(v => v != 0) || a.Int("ceil_mode", 0) != 0) return false;
        if (k[0] <= 0 || k[1] <= 0 || x.Shape[1] % k[0] != 0 || x.Shape[2] % k[1] != 0) return false;
        im.AddLayer(n, name => new AdaptiveAvgPool2d(x.Shape[1] / (int)k[0], x.Shape[2] / (int)k[1], name), x);
        return true;
    }

    /// <summary>Min pooling is exported as Neg → MaxPool → Neg; that chain, and only it, imports as MinPool2d.</summary>
    static void MinPool(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var mp = im.Single(n.Output[0], "MaxPool");
        var neg = mp is null ? null : im.Single(mp.Output[0], "Neg");
        if (neg is null) throw im.Fail(n, "Neg is imported only as min pooling (Neg → MaxPool → Neg)");
        var g = SquarePool(im, mp!, x);
        im.Done.Add(mp!);
        im.Done.Add(neg);
        var node = im.AddLayer(neg, name => new MinPool2d(g.K, g.S, g.P, g.Ceil, name), x);
        im.Set(n, node);
    }

    /// <summary>
    /// Eval-mode stochastic pooling as exported: r = Relu(x), AveragePool(r·r) / Max(AveragePool(r), tiny). Returns
    /// false (a plain Relu) when the Relu's readers are anything else.
    /// </summary>
    static bool StochasticChain(OnnxImporter im, NodeProto relu)
    {
        string r = relu.Output[0];
        if (im.IsGraphOutput(r) || !im.Consumers.TryGetValue(r, out var readers) || readers.Count != 3) return false;
        var mul = readers.FirstOrDefault(c => c.OpType == "Mul" && c.Input.Count == 2 && c.Input[0] == r && c.Input[1] == r);
        var avgS = readers.FirstOrDefault(c => c.OpType == "AveragePool");
        if (mul is null || avgS is null || readers.Count(c => c == mul) != 2) return false;
        var avgQ = im.Single(mul.Output[0], "AveragePool");
        var max = im.Single(avgS.Output[0], "Max");
        var div = avgQ is null ? null : im.Single(avgQ.Output[0], "Div");
        if (avgQ is null || max is null || div is null || div.Input.Count != 2 || div.Input[1] != max.Output[0] || div.Input[0] != avgQ.Output[0]) return false;
        var x = im.Runtime(relu, 0);
        var g = SquarePool(im, avgS, x);
        if (g != SquarePool(im, avgQ, x)) return false;
        foreach (var done in new[] { mul, avgQ, avgS, max, div }) im.Done.Add(done);
        var node = im.AddLayer(div, name => new StochasticPool2d(g.K, g.S, g.P, g.Ceil, name), x);
        im.Set(relu, node);
        return true;
    }

    static void Lrn(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var a = im.Attributes(n);
        int size = im.Small(n, a.Int("size", 0), "size");
        if (size % 2 == 0)
            throw im.Fail(n, $"size {size} is even: ONNX centres an even window one channel later than PyTorch and GpuCnn");
        im.AddLayer(n, name => new LocalResponseNorm(size, a.Float("alpha", 1e-4f), a.Float("beta", 0.75f), a.Float("bias", 1f), name), x);
    }

    /// <summary>
    /// PyTorch's LRN as primitives: x·x → Unsqueeze(1) → Pad(channels: size/2 before, (size−1)/2 after) →
    /// AveragePool(size, 1, 1) → Squeeze(1) → ·α → +k → ^β, then x / that.
    /// </summary>
    static void LrnChain(OnnxImporter im, NodeProto mul)
    {
        string fail = "Mul is imported only as x·x at the start of PyTorch's LRN chain (or inside stochastic pooling)";
        if (mul.Input.Count != 2 || mul.Input[0] != mul.Input[1] || im.Input(mul, 0) is not Node x) throw im.Fail(mul, fail);
        var un = im.Single(mul.Output[0], "Unsqueeze");
        var pad = un is null ? null : im.Single(un.Output[0], "Pad");
        var avg = pad is null ? null : im.Single(pad.Output[0], "AveragePool");
        var sq = avg is null ? null : im.Single(avg.Output[0], "Squeeze");
        var scale = sq is null ? null : im.Single(sq.Output[0], "Mul");
        var shift = scale is null ? null : im.Single(scale.Output[0], "Add");
        var pow = shift is null ? null : im.Single(shift.Output[0], "Pow");
        var div = pow is null ? null : im.Single(pow.Output[0], "Div");
        if (div is null || div.Input[0] != mul.Input[0] || div.Input[1] != pow!.Output[0]) throw im.Fail(mul, fail);
        var k = im.Attributes(avg!).Ints("kernel_shape", Array.Empty<long>());
        if (k.Length != 3 || k[1] != 1 || k[2] != 1) throw im.Fail(avg!, "the LRN chain's AveragePool must have a [size, 1, 1] window");
        int size = im.Small(avg!, k[0], "LRN size");
        var pads = OnnxImporter.HasInput(pad!, 1) ? im.Const(pad!, 1).AsLongs() : im.Attributes(pad!).Ints("pads", Array.Empty<long>());
        var want = new long[] { 0, 0, size / 2, 0, 0, 0, 0, (size - 1) / 2, 0, 0 };
        if (!pads.SequenceEqual(want)) throw im.Fail(pad!, $"pads [{string.Join(", ", pads)}] are not LRN's [{string.Join(", ", want)}]");
        float alpha = Scalar(im, scale!, sq!.Output[0]), bias = Scalar(im, shift!, scale!.Output[0]), beta = Scalar(im, pow, shift!.Output[0]);
        foreach (var done in new[] { un!, pad!, avg!, sq, scale, shift, pow, div }) im.Done.Add(done);
        var node = im.AddLayer(div, name => new LocalResponseNorm(size, alpha, beta, bias, name), x);
        im.Set(mul, node);
    }

    /// <summary>The scalar constant operand of a binary node whose other operand is <paramref name="chained"/>.</summary>
    static float Scalar(OnnxImporter im, NodeProto n, string chained)
    {
        int other = n.Input[0] == chained ? 1 : 0;
        var c = im.Const(n, other);
        if (c.Count != 1) throw im.Fail(n, "expected a scalar constant operand");
        return c.AsFloats()[0];
    }
}

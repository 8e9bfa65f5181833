using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Serialization.Onnx.Proto;

namespace GpuCnn.Serialization.Onnx;

internal static partial class OnnxOpImport
{
    /// <summary>An axis of the full tensor (batch first), negative values counted from the end.</summary>
    static long Axis(OnnxImporter im, NodeProto n, long axis, int rank)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw im.Fail(n, $"axis {axis} is out of range for rank {rank}");
        return a;
    }

    static void Concat(OnnxImporter im, NodeProto n)
    {
        var inputs = Enumerable.Range(0, n.Input.Count).Select(i => im.Input(n, i)).ToArray();
        long axis = im.Attributes(n).Int("axis", 0);
        if (inputs.All(v => v is OnnxConst))
        {
            // Shape arithmetic, e.g. [batch] ++ [-1] before a Reshape.
            var parts = inputs.Cast<OnnxConst>().ToArray();
            if (parts.Any(p => p.Dims.Length != 1)) throw im.Fail(n, "constant Concat is folded for 1-D tensors only");
            im.Set(n, new OnnxConst(new[] { parts.Sum(p => p.Count) }, null, parts.SelectMany(p => p.AsLongs()).ToArray()));
            return;
        }
        var nodes = Enumerable.Range(0, n.Input.Count).Select(i => im.Runtime(n, i)).ToArray();
        if (Axis(im, n, axis, nodes[0].Shape.Rank + 1) != 1) throw im.Fail(n, $"axis {axis}: GpuCnn concatenates channels (axis 1)");
        if (nodes.Length == 1) { im.Set(n, nodes[0]); return; }
        im.AddLayer(n, name => new Concat(nodes.Length, name), nodes);
    }

    static void Sum(OnnxImporter im, NodeProto n)
    {
        if (Enumerable.Range(0, n.Input.Count).Any(i => im.IsConst(n, i)))
            throw im.Fail(n, "adding a constant is imported only as the bias of a MatMul (PyTorch's Linear) or inside the LRN chain");
        var nodes = Enumerable.Range(0, n.Input.Count).Select(i => im.Runtime(n, i)).ToArray();
        if (nodes.Length == 1) { im.Set(n, nodes[0]); return; }
        im.AddLayer(n, name => new Add(nodes.Length, name), nodes);
    }

    static void Flatten(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        long axis = Axis(im, n, im.Attributes(n).Int("axis", 1), x.Shape.Rank + 1);
        if (axis != 1) throw im.Fail(n, $"axis {axis}: GpuCnn flattens each sample (axis 1)");
        if (x.Shape.Rank == 1) im.Set(n, x);
        else im.AddLayer(n, name => new Layers.Flatten(name), x);
    }

    static void Softmax(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        int rank = x.Shape.Rank + 1;
        long axis = Axis(im, n, im.Attributes(n).Int("axis", im.Opset >= 13 ? -1 : 1), rank);
        if (axis != 1) throw im.Fail(n, $"axis {axis}: GpuCnn's Softmax is over axis 1 (features, or channels at every pixel)");
        if (im.Opset < 13 && rank > 2) throw im.Fail(n, $"opset {im.Opset} Softmax flattens a rank-{rank} input; GpuCnn's is over channels");
        im.AddLayer(n, name => new Layers.Softmax(name), x);
    }

    /// <summary>Tile of a 1×1 map to OH×OW: adaptive average pooling of a 1×1 input, as it is exported.</summary>
    static void Tile(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var r = im.Const(n, 1).AsLongs();
        if (x.Shape.Rank != 3 || x.Shape[1] != 1 || x.Shape[2] != 1 || r.Length != 4 || r[0] != 1 || r[1] != 1)
            throw im.Fail(n, "Tile is imported only as a 1×1 map repeated over H and W (adaptive pooling of a 1×1 input)");
        int oh = im.Small(n, r[2], "repeat"), ow = im.Small(n, r[3], "repeat");
        im.AddLayer(n, name => new AdaptiveAvgPool2d(oh, ow, name), x);
    }

    static void Constant(OnnxImporter im, NodeProto n)
    {
        var a = im.Attributes(n);
        Func<string, Exception> fail = p => im.Fail(n, p);
        if (a.Tensor("value") is { } t) im.Set(n, OnnxTensors.Read(t, fail));
        else if (a.Raw("value_float") is { } f) im.Set(n, new OnnxConst(Array.Empty<long>(), new[] { f.F }, null));
        else if (a.Raw("value_floats") is { } fs) im.Set(n, new OnnxConst(new long[] { fs.Floats.Count }, fs.Floats.ToArray(), null));
        else if (a.Raw("value_int") is { } i) im.Set(n, new OnnxConst(Array.Empty<long>(), null, new[] { i.I }));
        else if (a.Raw("value_ints") is { } ls) im.Set(n, new OnnxConst(new long[] { ls.Ints.Count }, null, ls.Ints.ToArray()));
        else throw im.Fail(n, "the Constant has no value, value_float(s) or value_int(s) attribute");
    }

    /// <summary>Shape folds to a constant, with <see cref="OnnxImporter.BatchDim"/> standing for the batch.</summary>
    static void Shape(OnnxImporter im, NodeProto n)
    {
        long[] dims = im.Input(n, 0) switch
        {
            Node x => new[] { OnnxImporter.BatchDim }.Concat(x.Shape.ToArray().Select(d => (long)d)).ToArray(),
            OnnxConst c => c.Dims,
            _ => throw im.Fail(n, "unknown input"),
        };
        var a = im.Attributes(n);
        long start = Math.Clamp(a.Int("start", 0) is var s && s < 0 ? s + dims.Length : s, 0, dims.Length);
        long end = Math.Clamp(a.Int("end", dims.Length) is var e && e < 0 ? e + dims.Length : e, start, dims.Length);
        im.Set(n, new OnnxConst(new[] { end - start }, null, dims[(int)start..(int)end]));
    }

    static void Gather(OnnxImporter im, NodeProto n)
    {
        var data = im.Const(n, 0);
        var idx = im.Const(n, 1);
        if (data.Dims.Length != 1 || im.Attributes(n).Int("axis", 0) != 0) throw im.Fail(n, "Gather is folded for 1-D constants (shape arithmetic) only");
        var d = data.AsLongs();
        var picked = idx.AsLongs().Select(i => i < 0 ? i + d.Length : i).ToArray();
        if (picked.Any(i => i < 0 || i >= d.Length)) throw im.Fail(n, $"an index is out of range for {d.Length} values");
        im.Set(n, new OnnxConst(idx.Dims, null, picked.Select(i => d[i]).ToArray()));
    }

    static void Squeeze(OnnxImporter im, NodeProto n, bool unsqueeze)
    {
        if (im.Input(n, 0) is not OnnxConst c)
            throw im.Fail(n, $"{n.OpType} of a computed tensor is imported only inside PyTorch's LRN chain");
        var axes = OnnxImporter.HasInput(n, 1) ? im.Const(n, 1).AsLongs() : im.Attributes(n).Ints("axes", Array.Empty<long>());
        var dims = c.Dims.ToList();
        if (unsqueeze)
        {
            int rank = dims.Count + axes.Length;
            foreach (var a in axes.Select(a => Axis(im, n, a, rank)).OrderBy(a => a)) dims.Insert((int)a, 1);
        }
        else
        {
            var drop = axes.Length == 0 ? Enumerable.Range(0, dims.Count).Where(i => dims[i] == 1).Select(i => (long)i).ToArray()
                : axes.Select(a => Axis(im, n, a, dims.Count)).ToArray();
            if (drop.Any(a => dims[(int)a] != 1)) throw im.Fail(n, "only axes of size 1 can be squeezed");
            dims = dims.Where((_, i) => !drop.Contains(i)).ToList();
        }
        im.Set(n, c with { Dims = dims.ToArray() });
    }

    /// <summary>A Reshape that keeps the batch and flattens each sample (or keeps its shape): Flatten, or nothing.</summary>
    static void Reshape(OnnxImporter im, NodeProto n)
    {
        var x = im.Runtime(n, 0);
        var target = im.Const(n, 1).AsLongs();
        long sample = x.Shape.Size;
        var full = new[] { OnnxImporter.BatchDim }.Concat(x.Shape.ToArray().Select(d => (long)d)).ToArray();
        var dims = target.Select((t, i) => t == 0 && i < full.Length ? full[i] : t).ToArray();
        string shown = $"[{string.Join(", ", target)}]";
        if (dims.Length == 0) throw im.Fail(n, "reshape to a scalar is not supported");
        var rest = dims[1..];
        if (rest.Any(d => d < -1 || d == OnnxImporter.BatchDim) || rest.Count(d => d == -1) + (dims[0] == -1 ? 1 : 0) > 1 || (dims[0] != -1 && dims[0] != OnnxImporter.BatchDim))
            throw im.Fail(n, $"shape {shown}: only reshapes that keep the batch axis first are supported");
        long known = rest.Where(d => d > 0).Aggregate(1L, (p, d) => p * Math.Min(d, 1L << 31));
        if (rest.Contains(-1)) rest = rest.Select(d => d == -1 ? (known > 0 && sample % known == 0 ? sample / known : -1) : d).ToArray();
        if (rest.Any(d => d <= 0) || rest.Aggregate(1L, (p, d) => p * Math.Min(d, 1L << 31)) != sample)
            throw im.Fail(n, $"shape {shown} does not hold {sample} values per sample");
        if (rest.SequenceEqual(x.Shape.ToArray().Select(d => (long)d))) im.Set(n, x);
        else if (rest.Length == 1) im.AddLayer(n, name => new Layers.Flatten(name), x);
        else throw im.Fail(n, $"shape {shown}: only flattening reshapes are supported, not [{string.Join(", ", rest)}] per sample");
    }
}

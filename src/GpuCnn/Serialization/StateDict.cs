using System.Collections;
using GpuCnn.Graphs;
using GpuCnn.Layers;

namespace GpuCnn.Serialization;

/// <summary>Element type of a <see cref="StateTensor"/>.</summary>
public enum StateDType
{
    /// <summary>float32: parameters and running statistics.</summary>
    F32,
    /// <summary>int64: counters such as <c>num_batches_tracked</c>.</summary>
    I64,
}

/// <summary>A host tensor of a state dict: a shape (empty for a scalar) and float32 or int64 values.</summary>
public sealed class StateTensor
{
    /// <summary>A float32 tensor.</summary>
    public StateTensor(int[] shape, float[] values) : this(shape, StateDType.F32, values.LongLength) => Floats = values;

    /// <summary>An int64 tensor.</summary>
    public StateTensor(int[] shape, long[] values) : this(shape, StateDType.I64, values.LongLength) => Int64s = values;

    StateTensor(int[] shape, StateDType dtype, long count)
    {
        Shape = (int[])shape.Clone();
        DType = dtype;
        if (Shape.Any(d => d < 0) || Shape.Aggregate(1L, (a, d) => a * d) != count)
            throw new ArgumentException($"state tensor: shape [{string.Join(", ", Shape)}] does not hold {count} values");
    }

    /// <summary>Dimensions; empty for a scalar.</summary>
    public int[] Shape { get; }
    /// <summary>Element type.</summary>
    public StateDType DType { get; }
    /// <summary>The values of a float32 tensor.</summary>
    public float[]? Floats { get; }
    /// <summary>The values of an int64 tensor.</summary>
    public long[]? Int64s { get; }
    /// <summary>Number of elements.</summary>
    public long Count => Floats?.LongLength ?? Int64s!.LongLength;

    /// <summary>The values as float32 (int64 converted).</summary>
    public float[] ToFloats() => Floats ?? Int64s!.Select(v => (float)v).ToArray();

    internal string ShapeText => $"[{string.Join(", ", Shape)}]";
}

/// <summary>A state dict whose keys, missing or unexpected, or whose shapes do not match a model.</summary>
public sealed class StateDictException : ArgumentException
{
    internal StateDictException(string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
        : base($"state dict does not match model '{model}': " + string.Join("; ", new[]
        {
            missing.Count > 0 ? $"missing keys: {string.Join(", ", missing)}" : null,
            unexpected.Count > 0 ? $"unexpected keys: {string.Join(", ", unexpected)}" : null,
            mismatched.Count > 0 ? $"shape mismatch: {string.Join(", ", mismatched)}" : null,
        }.Where(s => s is not null)))
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
    }

    /// <summary>Keys the model has and the dict lacks.</summary>
    public IReadOnlyList<string> Missing { get; }
    /// <summary>Keys the dict has and the model lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }
    /// <summary>One entry per mismatch: <c>key: model [a, b], dict [c, d]</c>.</summary>
    public IReadOnlyList<string> Mismatched { get; }
}

/// <summary>What <see cref="StateDict.LoadInto"/> skipped when not strict.</summary>
/// <param name="Missing">Model keys the dict lacks (left as they were).</param>
/// <param name="Unexpected">Dict keys the model lacks (ignored).</param>
public sealed record StateDictReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);

/// <summary>
/// An ordered map of names to host tensors, as PyTorch's <c>state_dict()</c>: every parameter and buffer under
/// <c>{layer.StateName}.{name}</c> in graph order, and each BatchNorm's <c>num_batches_tracked</c> (int64 scalar).
/// The zoo's layers carry torchvision's module paths, so torchvision's weights load by name.
/// </summary>
public sealed class StateDict : IEnumerable<KeyValuePair<string, StateTensor>>
{
    readonly List<string> order = new();
    readonly Dictionary<string, StateTensor> map = new();

    /// <summary>Keys in order.</summary>
    public IReadOnlyList<string> Keys => order;
    /// <summary>Number of entries.</summary>
    public int Count => order.Count;

    /// <summary>The tensor under <paramref name="key"/>; setting a new key appends it, an existing one keeps its place.</summary>
    public StateTensor this[string key]
    {
        get => map.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"state dict has no key '{key}'");
        set
        {
            if (!map.ContainsKey(key)) order.Add(key);
            map[key] = value;
        }
    }

    /// <summary>Whether <paramref name="key"/> is present.</summary>
    public bool ContainsKey(string key) => map.ContainsKey(key);

    /// <summary>Removes <paramref name="key"/>; false when absent.</summary>
    public bool Remove(string key) => map.Remove(key) && order.Remove(key);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, StateTensor>> GetEnumerator() =>
        order.Select(k => new KeyValuePair<string, StateTensor>(k, map[k])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>One key of a model: its parameter, or null for a BatchNorm's counter.</summary>
    internal readonly record struct Slot(string Key, int[] Shape, Layer Layer, Parameter? Parameter);

    internal static IEnumerable<Slot> Slots(Graph graph)
    {
        foreach (var layer in graph.Layers)
        {
            foreach (var p in layer.Parameters) yield return new Slot($"{layer.StateName}.{p.Name}", p.Shape.ToArray(), layer, p);
            if (layer is BatchNorm2d) yield return new Slot($"{layer.StateName}.num_batches_tracked", Array.Empty<int>(), layer, null);
        }
    }

    /// <summary>The keys and shapes of <paramref name="graph"/>'s state dict, without a device.</summary>
    public static IReadOnlyList<(string Key, int[] Shape)> Layout(Graph graph) => Slots(graph).Select(s => (s.Key, s.Shape)).ToList();

    /// <summary>Downloads the state of the parameters in <paramref name="store"/>.</summary>
    public static StateDict Of(ParameterStore store)
    {
        var d = new StateDict();
        foreach (var s in Slots(store.Graph))
            d[s.Key] = s.Parameter is { } p ? new StateTensor(s.Shape, store.Get(p))
                : new StateTensor(s.Shape, new[] { ((BatchNorm2d)s.Layer).NumBatchesTracked });
        return d;
    }

    /// <summary>
    /// Uploads this dict into <paramref name="store"/>. Every shape must match (a mismatch throws, naming both
    /// shapes, as in PyTorch). With <paramref name="strict"/> a missing or unexpected key throws too; otherwise
    /// they are skipped and reported. Nothing is written when it throws.
    /// </summary>
    /// <exception cref="StateDictException">Keys or shapes do not match; it lists each.</exception>
    public StateDictReport LoadInto(ParameterStore store, bool strict = true)
    {
        var slots = Slots(store.Graph).ToList();
        var known = slots.Select(s => s.Key).ToHashSet();
        var missing = slots.Where(s => !map.ContainsKey(s.Key)).Select(s => s.Key).ToList();
        var unexpected = order.Where(k => !known.Contains(k)).ToList();
        var mismatched = slots.Where(s => map.TryGetValue(s.Key, out var t) && !t.Shape.SequenceEqual(s.Shape))
            .Select(s => $"{s.Key}: model [{string.Join(", ", s.Shape)}], dict {map[s.Key].ShapeText}").ToList();
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictException(store.Graph.Name, missing, unexpected, mismatched);
        foreach (var s in slots)
        {
            if (!map.TryGetValue(s.Key, out var t)) continue;
            if (s.Parameter is { } p) store.Set(p, t.ToFloats());
            else ((BatchNorm2d)s.Layer).NumBatchesTracked = t.Int64s?[0] ?? (long)t.Floats![0];
        }
        return new StateDictReport(missing, unexpected);
    }
}

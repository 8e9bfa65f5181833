using GpuCnn.Devices;
using GpuCnn.Layers;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// The parameters of a graph, stored flat per device: each device holds one value buffer and one gradient buffer
/// with every parameter of the nodes placed there, so an optimiser steps a whole device in one launch.
/// </summary>
public sealed class ParameterStore : IDisposable
{
    /// <summary>The flat storage of one device.</summary>
    public sealed class DeviceSlice
    {
        internal DeviceSlice(ComputeDevice device, long length)
        {
            Device = device;
            Length = length;
            Values = device.Allocate<float>(length);
            Grads = device.Allocate<float>(length);
            Values.View.MemSetToZero(device.Stream);
            Grads.View.MemSetToZero(device.Stream);
        }

        /// <summary>The device.</summary>
        public ComputeDevice Device { get; }
        /// <summary>Number of values.</summary>
        public long Length { get; }
        /// <summary>All parameter values of this device.</summary>
        public MemoryBuffer1D<float, Stride1D.Dense> Values { get; }
        /// <summary>All parameter gradients of this device, in the same layout.</summary>
        public MemoryBuffer1D<float, Stride1D.Dense> Grads { get; }
        /// <summary>Parameters and their offsets.</summary>
        public List<(Parameter Parameter, long Offset)> Entries { get; } = new();

        /// <summary>
        /// Elements [0, DecayedLength) hold weights; the rest hold biases and normalisation parameters, so an optimiser
        /// can exempt those from weight decay with one bound instead of a mask.
        /// </summary>
        public long DecayedLength { get; internal set; }

        /// <summary>Elements [0, TrainableLength) are trainable; buffers (running statistics) follow and are never optimised.</summary>
        public long TrainableLength { get; internal set; }
    }

    readonly Dictionary<Parameter, (DeviceSlice Slice, long Offset)> where = new();

    /// <summary>
    /// Lays out the parameters of <paramref name="graph"/> on the devices its nodes are placed on and initialises
    /// them from <paramref name="seed"/> (<see cref="Initialize"/>), so no path leaves a model with all-zero weights
    /// or a BatchNorm with γ = 0.
    /// </summary>
    public ParameterStore(Graph graph, IReadOnlyList<ComputeDevice> devices, int seed = 0)
    {
        Graph = graph;
        var perDevice = new Dictionary<int, List<Parameter>>();
        foreach (var n in graph.Nodes)
        {
            if (n.Layer is null || n.Layer.Parameters.Count == 0) continue;
            CheckDevice(n, devices);
            if (!perDevice.TryGetValue(n.Device, out var list)) perDevice[n.Device] = list = new();
            list.AddRange(n.Layer.Parameters);
        }
        foreach (var (d, declared) in perDevice.OrderBy(kv => kv.Key))
        {
            var slice = new DeviceSlice(devices[d], Math.Max(1, declared.Sum(p => p.Shape.Size)));
            long off = 0;
            // Stable order: weights, then biases/normalisation parameters (see DecayedLength), then buffers.
            var list = declared.Where(p => p.Trainable && !p.NoWeightDecay).Concat(declared.Where(p => p.Trainable && p.NoWeightDecay))
                .Concat(declared.Where(p => !p.Trainable)).ToList();
            slice.DecayedLength = list.Where(p => p.Trainable && !p.NoWeightDecay).Sum(p => p.Shape.Size);
            slice.TrainableLength = list.Where(p => p.Trainable).Sum(p => p.Shape.Size);
            foreach (var p in list)
            {
                slice.Entries.Add((p, off));
                where[p] = (slice, off);
                off += p.Shape.Size;
            }
            Slices.Add(slice);
        }
        BindViews();
        Initialize(seed);
    }

    internal static void CheckDevice(Node n, IReadOnlyList<ComputeDevice> devices)
    {
        if (n.Device < 0 || n.Device >= devices.Count)
            throw new ArgumentException(
                $"node '{n.Name}' is placed on device {n.Device}, but only {devices.Count} device(s) were given ({string.Join(", ", devices.Select((d, i) => $"{i}: {d.Id}"))})");
    }

    /// <summary>The graph.</summary>
    public Graph Graph { get; }

    /// <summary>One flat store per device that holds parameters.</summary>
    public List<DeviceSlice> Slices { get; } = new();

    /// <summary>Total number of values, buffers included.</summary>
    public long Count => Slices.Sum(s => s.Entries.Sum(e => e.Parameter.Shape.Size));

    /// <summary>Points every parameter's Value and Grad at this store (an executor calls this before running).</summary>
    public void BindViews()
    {
        foreach (var (p, (slice, off)) in where)
        {
            p.Value = slice.Values.View.SubView(off, p.Shape.Size);
            p.Grad = slice.Grads.View.SubView(off, p.Shape.Size);
        }
    }

    (DeviceSlice, long) Locate(Parameter p) =>
        where.TryGetValue(p, out var w) ? w : throw new ArgumentException($"parameter {p.FullName} is not in this store");

    /// <summary>Downloads a parameter's values.</summary>
    public float[] Get(Parameter p)
    {
        var (s, off) = Locate(p);
        var a = new float[p.Shape.Size];
        s.Values.View.SubView(off, a.Length).CopyToCPU(s.Device.Stream, a);
        return a;
    }

    /// <summary>Downloads a parameter's gradient.</summary>
    public float[] GetGrad(Parameter p)
    {
        var (s, off) = Locate(p);
        var a = new float[p.Shape.Size];
        s.Grads.View.SubView(off, a.Length).CopyToCPU(s.Device.Stream, a);
        return a;
    }

    /// <summary>Uploads a parameter's values.</summary>
    public void Set(Parameter p, ReadOnlySpan<float> values)
    {
        if (values.Length != p.Shape.Size)
            throw new Tensors.ShapeMismatchException(p.FullName, $"{p.Shape} ({p.Shape.Size} values)", $"{values.Length} values");
        var (s, off) = Locate(p);
        s.Values.View.SubView(off, values.Length).CopyFromCPU(s.Device.Stream, values.ToArray());
    }

    /// <summary>Initialises every parameter from <paramref name="seed"/> (same values on any device or placement).</summary>
    public void Initialize(int seed)
    {
        foreach (var s in Slices)
        {
            var all = new float[s.Length];
            foreach (var (p, off) in s.Entries) p.InitialValues(seed).CopyTo(all, off);
            s.Values.View.CopyFromCPU(s.Device.Stream, all);
        }
    }

    /// <summary>
    /// True once a backward pass of an accumulating executor (<see cref="ExecutorOptions.AccumulateGradients"/>) has
    /// written the gradients since the last <see cref="ZeroGrad"/>: the next one adds to them (β = 1) instead of
    /// overwriting (β = 0). Shared by every executor over this store, so micro-batches of any size accumulate.
    /// </summary>
    public bool GradientsHeld { get; internal set; }

    /// <summary>Clears every gradient (as PyTorch's <c>zero_grad</c>): the next backward pass overwrites them.</summary>
    public void ZeroGrad()
    {
        foreach (var s in Slices) s.Grads.View.MemSetToZero(s.Device.Stream);
        GradientsHeld = false;
    }

    /// <summary>Frees the device memory.</summary>
    public void Dispose()
    {
        foreach (var s in Slices) { s.Values.Dispose(); s.Grads.Dispose(); }
        Slices.Clear();
    }
}

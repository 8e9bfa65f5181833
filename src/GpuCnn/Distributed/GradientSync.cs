using System.Diagnostics;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using ILGPU.Runtime;

namespace GpuCnn.Distributed;

/// <summary>
/// Sums the parameter gradients over the ranks in buckets (<see cref="GradientBuckets"/>) and multiplies them by
/// <see cref="Scale"/> (1 / (ranks × micro-batches): the mean, as PyTorch's DDP). On the CPU accelerator the buffers
/// are host memory, so a bucket is reduced in place on a communication thread as soon as the backward steps of all
/// its parameters have run (<see cref="Executor.GradientsReady"/>), overlapping the rest of the backward pass. On a
/// GPU (Debian's Open MPI is not CUDA-aware) each device's gradients are staged through page-locked host memory after
/// the backward pass. Buckets are queued in the order the backward pass finishes them, which every rank shares.
/// </summary>
public sealed unsafe class GradientSync : IDisposable
{
    /// <summary>Default bucket size: 2²⁰ floats (4 MiB).</summary>
    public const long DefaultBucketElements = 1 << 20;

    readonly ParameterStore store;
    readonly ICommunicator comm;
    readonly int[] left;
    readonly bool[] queued;
    readonly Queue<int> queue = new();
    readonly object gate = new();
    readonly Thread? thread;
    readonly Dictionary<ComputeDevice, PageLockedArray1D<float>> staging = new();
    int inFlight;
    bool armed, stop;
    Exception? error;
    long commTicks, waitTicks;

    /// <summary>Prepares the buckets and, for more than one rank, starts the communication thread.</summary>
    public GradientSync(ParameterStore store, ICommunicator comm, float scale, long bucketElements = DefaultBucketElements)
    {
        this.store = store;
        this.comm = comm;
        Scale = scale;
        Layout = new GradientBuckets(store, bucketElements);
        left = new int[Layout.Buckets.Count];
        queued = new bool[Layout.Buckets.Count];
        if (comm.Size > 1)
        {
            thread = new Thread(Loop) { IsBackground = true, Name = "GpuCnn gradient allreduce" };
            thread.Start();
        }
    }

    /// <summary>The buckets.</summary>
    public GradientBuckets Layout { get; }
    /// <summary>The factor applied after the sum.</summary>
    public float Scale { get; }
    /// <summary>Steps synchronised so far.</summary>
    public long Steps { get; private set; }
    /// <summary>Seconds spent in allreduce calls (and scaling) on the communication thread, over all steps.</summary>
    public double CommunicationSeconds => commTicks / (double)Stopwatch.Frequency;
    /// <summary>Seconds the training thread waited in <see cref="Finish"/> for the allreduce to end, over all steps.</summary>
    public double WaitSeconds => waitTicks / (double)Stopwatch.Frequency;
    /// <summary>The share of communication time hidden behind the backward pass: 1 − wait / communication.</summary>
    public double Overlap => CommunicationSeconds <= 0 ? 0 : Math.Clamp(1 - WaitSeconds / CommunicationSeconds, 0, 1);

    static bool InPlace(ComputeDevice d) => d.Kind == DeviceKind.Cpu;

    /// <summary>Arms the buckets for the backward pass that completes this step's gradients.</summary>
    public void Begin()
    {
        for (int b = 0; b < left.Length; b++) { left[b] = Layout.Buckets[b].Parameters; queued[b] = false; }
        armed = true;
    }

    /// <summary>Hook for <see cref="Executor.GradientsReady"/>: queues every bucket that <paramref name="layer"/> completes.</summary>
    public void OnGradientsReady(Layer layer)
    {
        if (!armed || thread is null) return;
        foreach (var p in layer.Parameters)
        {
            int b = Layout.BucketOf(p);
            if (b < 0 || --left[b] > 0 || queued[b]) continue;
            var slice = store.Slices[Layout.Buckets[b].Slice];
            if (!InPlace(slice.Device)) continue; // GPUs stage after the backward pass
            slice.Device.Synchronize(); // the bucket's last gradient kernel has finished
            Enqueue(b);
        }
    }

    void Enqueue(int b)
    {
        queued[b] = true;
        lock (gate) { queue.Enqueue(b); inFlight++; Monitor.PulseAll(gate); }
    }

    /// <summary>
    /// Queues the buckets not yet queued (in bucket order), waits until every bucket is summed and scaled, and stages
    /// GPU devices' gradients; afterwards the optimiser may step.
    /// </summary>
    public void Finish()
    {
        armed = false;
        foreach (var s in store.Slices) s.Device.Synchronize();
        long t0 = Stopwatch.GetTimestamp();
        if (thread is not null)
        {
            for (int b = 0; b < left.Length; b++)
                if (!queued[b] && InPlace(store.Slices[Layout.Buckets[b].Slice].Device)) Enqueue(b);
            lock (gate)
            {
                while (inFlight > 0 && error is null) Monitor.Wait(gate);
                if (error is not null) throw new MpiException($"gradient allreduce failed: {error.Message}");
            }
        }
        else
        {
            for (int b = 0; b < left.Length; b++)
                if (InPlace(store.Slices[Layout.Buckets[b].Slice].Device)) Reduce(b);
        }
        for (int s = 0; s < store.Slices.Count; s++)
            if (!InPlace(store.Slices[s].Device)) Stage(s);
        waitTicks += Stopwatch.GetTimestamp() - t0;
        Steps++;
    }

    void Loop()
    {
        while (true)
        {
            int b;
            lock (gate)
            {
                while (queue.Count == 0 && !stop) Monitor.Wait(gate);
                if (stop) return;
                b = queue.Dequeue();
            }
            try
            {
                long t0 = Stopwatch.GetTimestamp();
                Reduce(b);
                Interlocked.Add(ref commTicks, Stopwatch.GetTimestamp() - t0);
            }
            catch (Exception e)
            {
                lock (gate) { error = e; Monitor.PulseAll(gate); }
                return;
            }
            lock (gate) { inFlight--; Monitor.PulseAll(gate); }
        }
    }

    // A CPU accelerator's buffer is host memory at NativePtr: sum and scale it where it lies.
    void Reduce(int b)
    {
        var bucket = Layout.Buckets[b];
        var grads = store.Slices[bucket.Slice].Grads;
        float* p = (float*)grads.NativePtr + bucket.Start;
        SumAndScale(p, bucket.Length);
    }

    void SumAndScale(float* p, long length)
    {
        for (long at = 0; at < length; at += MpiCommunicator.ChunkElements)
        {
            var span = new Span<float>(p + at, (int)Math.Min(MpiCommunicator.ChunkElements, length - at));
            comm.AllreduceSum(span);
            if (Scale != 1f)
                for (int i = 0; i < span.Length; i++) span[i] *= Scale;
        }
    }

    // A GPU's trainable gradients go to page-locked host memory, are summed there and come back.
    void Stage(int s)
    {
        var slice = store.Slices[s];
        long n = slice.TrainableLength;
        if (n == 0) return;
        if (!staging.TryGetValue(slice.Device, out var host))
            staging[slice.Device] = host = slice.Device.Accelerator.AllocatePageLocked1D<float>(n, uninitialized: true);
        var view = slice.Grads.View.SubView(0, n);
        view.CopyToPageLockedAsync(slice.Device.Stream, host);
        slice.Device.Synchronize();
        long t0 = Stopwatch.GetTimestamp();
        SumAndScale((float*)host.ArrayView.LoadEffectiveAddressAsPtr(), n);
        commTicks += Stopwatch.GetTimestamp() - t0;
        view.CopyFromPageLockedAsync(slice.Device.Stream, host);
    }

    /// <summary>Stops the communication thread and frees the staging memory.</summary>
    public void Dispose()
    {
        lock (gate) { stop = true; Monitor.PulseAll(gate); }
        thread?.Join();
        foreach (var h in staging.Values) h.Dispose();
        staging.Clear();
    }
}

using System.Collections.Concurrent;
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Devices;

/// <summary>
/// An open accelerator: its stream, its kernel cache (each kernel is compiled once per accelerator) and the
/// launch shape that suits it. Layers never talk to ILGPU directly; they go through this class, which keeps
/// each back end down to allocate, copy and launch.
/// </summary>
public sealed partial class ComputeDevice : IDisposable
{
    readonly ConcurrentDictionary<MethodInfo, Delegate> cache = new();
    readonly ConcurrentDictionary<MethodInfo, object> typed = new();
    readonly int cpuTarget;

    /// <summary>Opens an accelerator on <paramref name="info"/>'s device.</summary>
    public ComputeDevice(DeviceInfo info)
    {
        Info = info;
        Accelerator = info.Device!.CreateAccelerator(DeviceManager.Context);
        Stream = Accelerator.DefaultStream;
        // A few chunks per CPU thread balance the load without paying ILGPU's per-thread dispatch many times.
        cpuTarget = Math.Max(1, Accelerator.MaxNumThreads * 4);
    }

    /// <summary>What the device is.</summary>
    public DeviceInfo Info { get; }

    /// <summary>Back-end kind.</summary>
    public DeviceKind Kind => Info.Kind;

    /// <summary>The spec that names this device, e.g. <c>cuda:0</c>.</summary>
    public string Id => Info.Id;

    /// <summary>Human-readable name.</summary>
    public string Name => Info.Name;

    /// <summary>The ILGPU accelerator.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The stream every launch and copy of this device goes to, in order.</summary>
    public AcceleratorStream Stream { get; private set; }

    /// <summary>
    /// On CUDA, moves this device's work to a stream of its own that can be captured into a CUDA graph (ILGPU's
    /// default stream is the legacy NULL stream, which cannot). The stream is blocking, so work still queued on the
    /// default stream stays ordered with it. Elsewhere it does nothing.
    /// </summary>
    public void UseCapturableStream()
    {
        if (Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator cuda || !ReferenceEquals(Stream, Accelerator.DefaultStream)) return;
        Stream.Synchronize();
        Stream = cuda.CreateStream(ILGPU.Runtime.Cuda.StreamFlags.CU_STREAM_DEFAULT);
        gemm?.StreamChanged();
    }

    /// <summary>Elements per thread for a launch over <paramref name="n"/> elements: 1 on GPUs, large chunks on the CPU.</summary>
    public int ChunkFor(int n) => Kind == DeviceKind.Cpu ? Math.Max(1, (n + cpuTarget - 1) / cpuTarget) : 1;

    /// <summary>Kernel launches made through <c>Launch</c> since the device was opened (launch overhead is what small models pay).
    /// Executors on several threads may share a device, so the count is kept with atomic increments.</summary>
    public long LaunchCount => Interlocked.Read(ref launchCount);
    long launchCount;

    /// <summary>Number of kernels compiled so far on this accelerator.</summary>
    public int LoadedKernelCount => cache.Count + typed.Count;

    /// <summary>Allocates device memory for <paramref name="length"/> elements.</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length) where T : unmanaged =>
        Accelerator.Allocate1D<T>(Math.Max(1, length));

    /// <summary>
    /// Bytes of device memory in use on the whole GPU (total minus free, as the CUDA driver reports it, so it includes
    /// other processes and this context's own code), or null where the back end cannot say (OpenCL, CPU). The
    /// difference between two readings in one process is what that process allocated in between.
    /// </summary>
    public long? MemoryInUse()
    {
        if (Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator) return null;
        Accelerator.Bind(); // cuMemGetInfo answers for the calling thread's current context
        return ILGPU.Runtime.Cuda.CudaAPI.CurrentAPI.GetMemoryInfo(out long free, out long total) == ILGPU.Runtime.Cuda.CudaError.CUDA_SUCCESS
            ? total - free : null;
    }

    /// <summary>Waits until all queued work on this device has finished.</summary>
    public void Synchronize() => Stream.Synchronize();

    /// <inheritdoc/>
    public override string ToString() => $"{Id} ({Name})";

    /// <summary>Releases the accelerator.</summary>
    public void Dispose()
    {
        pool.Clear();
        if (!ReferenceEquals(Stream, Accelerator.DefaultStream)) Stream.Dispose();
        Accelerator.Dispose();
    }

    /// <summary>
    /// Loads (compiled once per accelerator) the chunked kernel <paramref name="body"/>, whose one argument struct
    /// carries everything it reads and writes.
    /// </summary>
    public Kernel<TArgs> LoadKernel<TArgs>(Action<Index1D, int, int, TArgs> body) where TArgs : struct =>
        typed.TryGetValue(body.Method, out var k) ? (Kernel<TArgs>)k : LoadKernelSlow(body);

    Kernel<TArgs> LoadKernelSlow<TArgs>(Action<Index1D, int, int, TArgs> body) where TArgs : struct =>
        (Kernel<TArgs>)typed.GetOrAdd(body.Method, _ => new Kernel<TArgs>(this, Accelerator.LoadAutoGroupedKernel(body)));

    /// <summary>Loads (compiled once per accelerator) the explicitly grouped kernel <paramref name="body"/>.</summary>
    public GroupedKernel<TArgs> LoadGroupedKernel<TArgs>(Action<TArgs> body) where TArgs : struct =>
        typed.TryGetValue(body.Method, out var k) ? (GroupedKernel<TArgs>)k : LoadGroupedKernelSlow(body);

    GroupedKernel<TArgs> LoadGroupedKernelSlow<TArgs>(Action<TArgs> body) where TArgs : struct =>
        (GroupedKernel<TArgs>)typed.GetOrAdd(body.Method, _ => new GroupedKernel<TArgs>(this, Accelerator.LoadKernel(body)));

    /// <summary>Loads (once per accelerator) a chunked kernel with 1 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1> Load<T1>(Action<Index1D, int, int, T1> kernel)
        where T1 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1>(Action<AcceleratorStream, Index1D, int, int, T1> kernel, int n, T1 a1)
        where T1 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 2 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2> Load<T1, T2>(Action<Index1D, int, int, T1, T2> kernel)
        where T1 : struct where T2 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2>(Action<AcceleratorStream, Index1D, int, int, T1, T2> kernel, int n, T1 a1, T2 a2)
        where T1 : struct where T2 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 3 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2, T3> Load<T1, T2, T3>(Action<Index1D, int, int, T1, T2, T3> kernel)
        where T1 : struct where T2 : struct where T3 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2, T3>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2, T3>(Action<AcceleratorStream, Index1D, int, int, T1, T2, T3> kernel, int n, T1 a1, T2 a2, T3 a3)
        where T1 : struct where T2 : struct where T3 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2, a3);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 4 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4> Load<T1, T2, T3, T4>(Action<Index1D, int, int, T1, T2, T3, T4> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2, T3, T4>(Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4> kernel, int n, T1 a1, T2 a2, T3 a3, T4 a4)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2, a3, a4);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 5 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5> Load<T1, T2, T3, T4, T5>(Action<Index1D, int, int, T1, T2, T3, T4, T5> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2, T3, T4, T5>(Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5> kernel, int n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2, a3, a4, a5);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 6 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6> Load<T1, T2, T3, T4, T5, T6>(Action<Index1D, int, int, T1, T2, T3, T4, T5, T6> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2, T3, T4, T5, T6>(Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6> kernel, int n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2, a3, a4, a5, a6);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 7 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7> Load<T1, T2, T3, T4, T5, T6, T7>(Action<Index1D, int, int, T1, T2, T3, T4, T5, T6, T7> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2, T3, T4, T5, T6, T7>(Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7> kernel, int n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2, a3, a4, a5, a6, a7);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 8 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8> Load<T1, T2, T3, T4, T5, T6, T7, T8>(Action<Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2, T3, T4, T5, T6, T7, T8>(Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8> kernel, int n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2, a3, a4, a5, a6, a7, a8);
    }

    /// <summary>Loads (once per accelerator) a chunked kernel with 9 argument(s) after (index, n, chunk).</summary>
    public Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8, T9> Load<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct =>
        (Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8, T9>)cache.GetOrAdd(kernel.Method,
            _ => Accelerator.LoadAutoGroupedKernel(kernel));

    /// <summary>Launches a chunked kernel over <paramref name="n"/> elements on this device's stream.</summary>
    public void Launch<T1, T2, T3, T4, T5, T6, T7, T8, T9>(Action<AcceleratorStream, Index1D, int, int, T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel, int n, T1 a1, T2 a2, T3 a3, T4 a4, T5 a5, T6 a6, T7 a7, T8 a8, T9 a9)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct where T5 : struct where T6 : struct where T7 : struct where T8 : struct where T9 : struct
    {
        if (n <= 0) return;
        Interlocked.Increment(ref launchCount);
        int chunk = ChunkFor(n);
        kernel(Stream, (n + chunk - 1) / chunk, n, chunk, a1, a2, a3, a4, a5, a6, a7, a8, a9);
    }
}

public sealed partial class ComputeDevice
{
    GemmEngine? gemm;

    /// <summary>The device's GEMM kernels and per-shape kernel choices.</summary>
    public GemmEngine Gemm => gemm ??= new GemmEngine(this);

    /// <summary>Loads (once per accelerator) an explicitly grouped kernel with four arguments.</summary>
    public Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4> LoadGrouped<T1, T2, T3, T4>(Action<T1, T2, T3, T4> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        cache.TryGetValue(kernel.Method, out var loaded) // called per launch: the hit path must not allocate a closure
            ? (Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4>)loaded
            : LoadGroupedSlow(kernel);

    Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4> LoadGroupedSlow<T1, T2, T3, T4>(Action<T1, T2, T3, T4> kernel)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct =>
        (Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4>)cache.GetOrAdd(kernel.Method, _ => Accelerator.LoadKernel(kernel));

    /// <summary>Counts a launch made outside <c>Launch</c> (e.g. a cuBLAS call).</summary>
    internal void CountLaunch() => Interlocked.Increment(ref launchCount);

    /// <summary>Launches an explicitly grouped kernel on this device's stream.</summary>
    public void LaunchGrouped<T1, T2, T3, T4>(Action<AcceleratorStream, KernelConfig, T1, T2, T3, T4> kernel, KernelConfig config,
        T1 a1, T2 a2, T3 a3, T4 a4)
        where T1 : struct where T2 : struct where T3 : struct where T4 : struct
    {
        Interlocked.Increment(ref launchCount);
        kernel(Stream, config, a1, a2, a3, a4);
    }
}

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
    readonly ConcurrentDictionary<MethodInfo, object> kernels = new(); // Kernel<T> or GroupedKernel<T>, by body
    readonly int cpuTarget;

    /// <summary>Opens an accelerator on <paramref name="info"/>'s device.</summary>
    public ComputeDevice(DeviceInfo info)
    {
        Info = info;
        Accelerator = info.Device!.CreateAccelerator(DeviceManager.Context);
        Stream = Accelerator.DefaultStream;
        // A few chunks per CPU thread balance the load without paying ILGPU's per-thread dispatch many times.
        cpuTarget = Math.Max(1, Accelerator.MaxNumThreads * 4);
        HostKernels = Environment.GetEnvironmentVariable("GPUCNN_CPU_HOST_KERNELS") != "0";
        HostOverrides = Environment.GetEnvironmentVariable("GPUCNN_CPU_HOST_OVERRIDES") != "0";
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

    /// <summary>
    /// CPU accelerator only: run the chunked kernels (<see cref="Kernel{TArgs}"/>: no barriers, no shared memory) as
    /// host loops over their chunks instead of through ILGPU's thread emulation, which costs far more per launch.
    /// The same method body runs, so the results are the same bits. Default on; <c>GPUCNN_CPU_HOST_KERNELS=0</c>
    /// turns it off. Always false on GPUs.
    /// </summary>
    public bool HostKernels
    {
        get => hostKernels;
        set => hostKernels = value && Kind == DeviceKind.Cpu;
    }
    bool hostKernels;

    /// <summary>
    /// CPU accelerator with <see cref="HostKernels"/> only: kernels that have a host override (vectorised host code that
    /// gives the kernel's bits) run it instead of their ILGPU body. Default on; <c>GPUCNN_CPU_HOST_OVERRIDES=0</c> turns
    /// it off, so tests can compare the two.
    /// </summary>
    public bool HostOverrides { get; set; }

    /// <summary>Elements per thread for a launch over <paramref name="n"/> elements: 1 on GPUs, large chunks on the CPU.</summary>
    public int ChunkFor(int n) => Kind == DeviceKind.Cpu ? Math.Max(1, (n + cpuTarget - 1) / cpuTarget) : 1;

    /// <summary>Kernel launches (<see cref="Kernel{TArgs}.Launch"/>, <see cref="GroupedKernel{TArgs}.Launch"/> and library calls) since the device was opened (launch overhead is what small models pay).
    /// Executors on several threads may share a device, so the count is kept with atomic increments.</summary>
    public long LaunchCount => Interlocked.Read(ref launchCount);
    long launchCount;

    /// <summary>Number of kernels compiled so far on this accelerator.</summary>
    public int LoadedKernelCount => kernels.Count;

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
        kernels.TryGetValue(body.Method, out var k) ? (Kernel<TArgs>)k : LoadKernelSlow(body);

    Kernel<TArgs> LoadKernelSlow<TArgs>(Action<Index1D, int, int, TArgs> body) where TArgs : struct =>
        (Kernel<TArgs>)kernels.GetOrAdd(body.Method, _ => new Kernel<TArgs>(this, Accelerator.LoadAutoGroupedKernel(body), body));

    /// <summary>Loads (compiled once per accelerator) the explicitly grouped kernel <paramref name="body"/>.</summary>
    public GroupedKernel<TArgs> LoadGroupedKernel<TArgs>(Action<TArgs> body) where TArgs : struct =>
        kernels.TryGetValue(body.Method, out var k) ? (GroupedKernel<TArgs>)k : LoadGroupedKernelSlow(body);

    GroupedKernel<TArgs> LoadGroupedKernelSlow<TArgs>(Action<TArgs> body) where TArgs : struct =>
        (GroupedKernel<TArgs>)kernels.GetOrAdd(body.Method, _ => new GroupedKernel<TArgs>(this, Accelerator.LoadKernel(body)));

    GemmEngine? gemm;

    /// <summary>The device's GEMM families and per-product choices.</summary>
    public GemmEngine Gemm => gemm ??= new GemmEngine(this);

    /// <summary>Counts a launch (every <see cref="Kernel{TArgs}"/> launch, and calls into libraries such as cuBLAS).</summary>
    internal void CountLaunch() => Interlocked.Increment(ref launchCount);
}

using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Devices;

/// <summary>
/// A chunked kernel loaded on one device: its body is <c>static void Body(Index1D t, int n, int chunk, TArgs args)</c>,
/// where each of the launch's threads handles <c>chunk</c> consecutive elements of <c>n</c> (see
/// <see cref="GpuCnn.Kernels.Chunk"/>) and <typeparamref name="TArgs"/> is one struct with named fields: views,
/// scalars, prepared geometry and, for generic kernels, the op as a value. Launching allocates nothing.
/// </summary>
/// <typeparam name="TArgs">The kernel's argument struct.</typeparam>
public sealed class Kernel<TArgs> where TArgs : struct
{
    readonly ComputeDevice device;
    readonly Action<AcceleratorStream, Index1D, int, int, TArgs> launch;
    readonly HostKernel<TArgs> host;
    readonly HostOverride<TArgs>? hostOverride;

    internal Kernel(ComputeDevice device, Action<AcceleratorStream, Index1D, int, int, TArgs> launch, Action<Index1D, int, int, TArgs> body)
    {
        this.device = device;
        this.launch = launch;
        host = new HostKernel<TArgs>(body);
        if (device.Kind == DeviceKind.Cpu) hostOverride = HostOverrides.Find<TArgs>(body.Method);
    }

    /// <summary>Whether a host override (<see cref="ComputeDevice.HostOverrides"/>) replaces this kernel's body on the host.</summary>
    internal bool HasHostOverride => hostOverride != null;

    /// <summary>
    /// Queues the kernel over <paramref name="n"/> elements on the device's stream; n ≤ 0 launches nothing. On the CPU
    /// accelerator with <see cref="ComputeDevice.HostKernels"/> the same body runs as host loops over its chunks instead
    /// (after the stream has drained), or its host override where it has one and <see cref="ComputeDevice.HostOverrides"/>
    /// is on, and has finished when this returns.
    /// </summary>
    public void Launch(int n, TArgs args)
    {
        if (n <= 0) return;
        device.CountLaunch();
        if (device.HostKernels && hostOverride != null && device.HostOverrides)
        {
            device.Synchronize();
            hostOverride.Run(n, args);
            return;
        }
        int chunk = device.ChunkFor(n);
        if (device.HostKernels) host.Run(device, n, chunk, args);
        else launch(device.Stream, (n + chunk - 1) / chunk, n, chunk, args);
    }
}

/// <summary>
/// An explicitly grouped kernel loaded on one device: its body is <c>static void Body(TArgs args)</c> and reads its
/// position from ILGPU's <c>Grid</c> and <c>Group</c> (shared-memory tiled kernels).
/// </summary>
/// <typeparam name="TArgs">The kernel's argument struct.</typeparam>
public sealed class GroupedKernel<TArgs> where TArgs : struct
{
    readonly ComputeDevice device;
    readonly Action<AcceleratorStream, KernelConfig, TArgs> launch;

    internal GroupedKernel(ComputeDevice device, Action<AcceleratorStream, KernelConfig, TArgs> launch)
    {
        this.device = device;
        this.launch = launch;
    }

    /// <summary>Queues the kernel with <paramref name="config"/> (grid and group) on the device's stream.</summary>
    public void Launch(KernelConfig config, TArgs args)
    {
        device.CountLaunch();
        launch(device.Stream, config, args);
    }
}

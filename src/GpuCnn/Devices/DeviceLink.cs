using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Devices;

/// <summary>
/// A one-way copy path between two devices for buffers of one length. Two CUDA devices with peer access copy
/// directly; any other pair stages through a page-locked host buffer, allocated on the first copy and kept. A copy
/// waits for the source stream, so the producer's kernels have finished; the target's stream orders the copy before
/// its consumers.
/// </summary>
public sealed class DeviceLink : IDisposable
{
    readonly long length;
    PageLockedArray1D<float>? staging;

    /// <summary>A link from <paramref name="from"/> to <paramref name="to"/>; enables peer access where both allow it.</summary>
    public DeviceLink(ComputeDevice from, ComputeDevice to, long length)
    {
        From = from;
        To = to;
        this.length = length;
        Peer = TryEnablePeerAccess(from, to);
    }

    /// <summary>The source device.</summary>
    public ComputeDevice From { get; }
    /// <summary>The target device.</summary>
    public ComputeDevice To { get; }
    /// <summary>True when copies go peer to peer; false when they stage through page-locked host memory.</summary>
    public bool Peer { get; }

    /// <summary>Copies <paramref name="source"/> (on <see cref="From"/>) into <paramref name="target"/> (on <see cref="To"/>).</summary>
    public void Copy(ArrayView<float> source, ArrayView<float> target)
    {
        From.Stream.Synchronize();
        if (Peer)
        {
            source.CopyTo(To.Stream, target);
            return;
        }
        To.Stream.Synchronize(); // the staging buffer may still feed the previous step's copy
        staging ??= From.Accelerator.AllocatePageLocked1D<float>(length, uninitialized: true);
        source.CopyToPageLockedAsync(From.Stream, staging);
        From.Stream.Synchronize();
        target.CopyFromPageLockedAsync(To.Stream, staging);
    }

    /// <summary>Enables peer access between two CUDA devices that allow it; false for any other pair or on failure.</summary>
    public static bool TryEnablePeerAccess(ComputeDevice a, ComputeDevice b)
    {
        if (a.Kind != DeviceKind.Cuda || b.Kind != DeviceKind.Cuda || ReferenceEquals(a, b)) return false;
        try
        {
            if (!a.Accelerator.CanAccessPeer(b.Accelerator)) return false;
            a.Accelerator.EnablePeerAccess(b.Accelerator);
            if (b.Accelerator.CanAccessPeer(a.Accelerator)) b.Accelerator.EnablePeerAccess(a.Accelerator);
            return true;
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ILGPU.Runtime.Cuda.CudaException)
        {
            return false; // fall back to staging through page-locked memory
        }
    }

    /// <summary>Frees the staging buffer.</summary>
    public void Dispose()
    {
        staging?.Dispose();
        staging = null;
    }
}

/// <summary>
/// Uploads from the host to one device: the CPU accelerator copies directly (it runs in order on the host anyway, so
/// there is nothing to overlap); other devices go through a <see cref="StagedUpload{T}"/>, created on first use, so
/// the upload does not wait for the device.
/// </summary>
public sealed class HostLink<T> : IDisposable where T : unmanaged
{
    readonly ComputeDevice device;
    StagedUpload<T>? staged;

    /// <summary>A link from the host to <paramref name="device"/>.</summary>
    public HostLink(ComputeDevice device) => this.device = device;

    /// <summary>Copies <paramref name="data"/> into <paramref name="target"/> (same length) in stream order.</summary>
    public void Upload(ReadOnlySpan<T> data, ArrayView<T> target)
    {
        if (device.Kind == DeviceKind.Cpu)
            target.CopyFromCPU(device.Stream, ref MemoryMarshal.GetReference(data), data.Length);
        else
            (staged ??= new StagedUpload<T>(device)).Upload(data, target);
    }

    /// <summary>Frees the staging buffers.</summary>
    public void Dispose()
    {
        staged?.Dispose();
        staged = null;
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Devices;

/// <summary>
/// Host-to-device uploads that do not wait for the device. ILGPU's <c>CopyFromCPU</c> copies from pageable memory
/// and then synchronises the stream, so every training step would wait for the previous one to finish before its
/// input could be queued. This stages the data in one of two page-locked buffers and queues an asynchronous copy;
/// a marker recorded after the copy says when that buffer may be refilled (two uploads later, long since done).
/// </summary>
public sealed class StagedUpload<T> : IDisposable where T : unmanaged
{
    readonly ComputeDevice device;
    readonly PageLockedArray1D<T>?[] slots = new PageLockedArray1D<T>?[2];
    readonly ProfilingMarker?[] copied = new ProfilingMarker?[2];
    int next;
    bool noMarkers; // a back end without stream markers: wait for the stream before refilling a buffer

    /// <summary>Creates an uploader that copies to <paramref name="device"/> on its stream.</summary>
    public StagedUpload(ComputeDevice device) => this.device = device;

    /// <summary>Copies <paramref name="data"/> into <paramref name="target"/> (same length) in stream order, without waiting.</summary>
    public void Upload(ReadOnlySpan<T> data, ArrayView<T> target)
    {
        if (data.Length != target.Length)
            throw new ArgumentException($"upload of {data.Length} values into a buffer of {target.Length}");
        int i = next;
        next ^= 1;
        if (copied[i] is { } marker)
        {
            marker.Synchronize(); // only this slot's previous copy, not the whole stream
            marker.Dispose();
            copied[i] = null;
        }
        else if (noMarkers && slots[i] is not null)
            device.Stream.Synchronize();
        if (slots[i] is not { } slot || slot.Length != data.Length)
        {
            slots[i]?.Dispose();
            slot = slots[i] = device.Accelerator.AllocatePageLocked1D<T>(data.Length, uninitialized: true);
        }
        data.CopyTo(slot.Span);
        target.CopyFromPageLockedAsync(device.Stream, slot);
        if (noMarkers) return;
        try { copied[i] = device.Stream.AddProfilingMarker(); }
        catch (NotSupportedException) { noMarkers = true; }
    }

    /// <summary>Waits for pending copies and frees the page-locked buffers.</summary>
    public void Dispose()
    {
        for (int i = 0; i < 2; i++)
        {
            copied[i]?.Synchronize();
            copied[i]?.Dispose();
            slots[i]?.Dispose();
            copied[i] = null;
            slots[i] = null;
        }
    }
}

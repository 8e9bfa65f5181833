using GpuCnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Tensors;

/// <summary>
/// A float32 tensor in device memory (NCHW for images). A tensor either owns a pooled buffer (returned to the
/// device's pool on dispose) or is a view into memory that the graph executor planned.
/// </summary>
public sealed class Tensor : IDisposable
{
    MemoryBuffer1D<float, Stride1D.Dense>? owned;

    internal Tensor(ComputeDevice device, Shape shape, ArrayView<float> view, MemoryBuffer1D<float, Stride1D.Dense>? owned)
    {
        Device = device;
        Shape = shape;
        View = view;
        this.owned = owned;
    }

    /// <summary>The device holding the data.</summary>
    public ComputeDevice Device { get; }

    /// <summary>The shape.</summary>
    public Shape Shape { get; }

    /// <summary>The device memory, exactly <see cref="Shape"/>.Size elements long.</summary>
    public ArrayView<float> View { get; }

    /// <summary>A zero-filled tensor from the device's buffer pool.</summary>
    public static Tensor Zeros(ComputeDevice device, Shape shape)
    {
        var buf = device.Rent(shape.Size);
        var view = buf.View.SubView(0, shape.Size);
        view.MemSetToZero(device.Stream);
        return new Tensor(device, shape, view, buf);
    }

    /// <summary>Uploads <paramref name="data"/> (row-major, <paramref name="shape"/>.Size elements).</summary>
    public static Tensor FromArray(ComputeDevice device, Shape shape, ReadOnlySpan<float> data)
    {
        if (data.Length != shape.Size)
            throw new ShapeMismatchException("Tensor.FromArray", $"{shape} ({shape.Size} values)", $"{data.Length} values");
        var buf = device.Rent(shape.Size);
        var t = new Tensor(device, shape, buf.View.SubView(0, shape.Size), buf);
        t.CopyFrom(data);
        return t;
    }

    /// <summary>Uploads <paramref name="data"/> as a tensor of <paramref name="shape"/> on <paramref name="device"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, Shape shape, ComputeDevice device) => FromArray(device, shape, data);

    /// <summary>A view of device memory with a shape; the caller keeps the memory alive.</summary>
    public static Tensor Wrap(ComputeDevice device, Shape shape, ArrayView<float> view)
    {
        if (view.Length != shape.Size)
            throw new ShapeMismatchException("Tensor.Wrap", $"{shape} ({shape.Size} values)", $"{view.Length} values");
        return new Tensor(device, shape, view, null);
    }

    /// <summary>Copies host data into the tensor (blocking).</summary>
    public void CopyFrom(ReadOnlySpan<float> data)
    {
        if (data.Length != Shape.Size)
            throw new ShapeMismatchException("Tensor.CopyFrom", $"{Shape} ({Shape.Size} values)", $"{data.Length} values");
        View.CopyFromCPU(Device.Stream, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data), data.Length);
    }

    /// <summary>Copies the tensor to host memory (blocking).</summary>
    public void CopyTo(Span<float> data)
    {
        if (data.Length != Shape.Size)
            throw new ShapeMismatchException("Tensor.CopyTo", $"{Shape} ({Shape.Size} values)", $"{data.Length} values");
        View.CopyToCPU(Device.Stream, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(data), data.Length);
    }

    /// <summary>Downloads the tensor into a new array.</summary>
    public float[] ToArray()
    {
        var a = new float[Shape.Size];
        CopyTo(a);
        return a;
    }

    /// <summary>Returns an owned buffer to the device's pool.</summary>
    public void Dispose()
    {
        if (owned is not null) { Device.Return(owned); owned = null; }
    }

    /// <inheritdoc/>
    public override string ToString() => $"Tensor{Shape} on {Device.Id}";
}

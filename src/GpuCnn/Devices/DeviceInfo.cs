namespace GpuCnn.Devices;

/// <summary>The three kinds of ILGPU back end.</summary>
public enum DeviceKind
{
    /// <summary>An NVIDIA GPU through ILGPU's PTX back end.</summary>
    Cuda,
    /// <summary>An OpenCL device (needs the generic address space).</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator, which emulates GPU threads on the host's cores.</summary>
    Cpu,
}

/// <summary>One device found on this machine, usable or not.</summary>
/// <param name="Kind">Back end.</param>
/// <param name="Index">Index among the devices of that kind (usable or not), as used in <c>cuda:1</c>.</param>
/// <param name="Name">The device's name as the driver reports it.</param>
/// <param name="MemoryBytes">Device memory in bytes (0 where the back end does not say).</param>
/// <param name="Usable">Whether GpuCnn can run on it.</param>
/// <param name="Reason">Why it is not usable, or null.</param>
public sealed record DeviceInfo(DeviceKind Kind, int Index, string Name, long MemoryBytes, bool Usable, string? Reason)
{
    /// <summary>The spec that selects this device, such as <c>cuda:0</c>.</summary>
    public string Id => $"{Kind.ToString().ToLowerInvariant()}:{Index}";

    internal ILGPU.Runtime.Device? Device { get; init; }
}

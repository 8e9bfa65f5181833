using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace GpuCnn.Devices;

/// <summary>
/// Finds every ILGPU device, explains the ones that cannot be used, and opens accelerators by spec
/// (<c>auto</c>, <c>cuda</c>, <c>opencl:1</c>, <c>cpu</c>, ...). One ILGPU context serves the whole process.
/// </summary>
public static class DeviceManager
{
    static readonly Lazy<(Context Context, IReadOnlyList<DeviceInfo> Devices)> State = new(Discover);

    /// <summary>The process-wide ILGPU context (algorithms enabled).</summary>
    public static Context Context => State.Value.Context;

    /// <summary>Every device found, usable ones and the others with the reason.</summary>
    public static IReadOnlyList<DeviceInfo> List() => State.Value.Devices;

    /// <summary>The valid device specs, for error messages and help.</summary>
    public const string SpecHelp = "auto, cuda[:N], opencl[:N], cpu[:N]";

    static (Context, IReadOnlyList<DeviceInfo>) Discover()
    {
        // Registering every OpenCL device (not only the compatible ones) lets us list the others with a reason.
        // The CPU device has 2 threads per warp, 1 warp per multiprocessor and one multiprocessor per core:
        // measured to be the fastest CPU configuration for chunked kernels.
        var cpu = new CPUDevice(2, 1, Math.Max(1, Environment.ProcessorCount));
        var context = Context.Create(b =>
        {
            try { b.Cuda(); } catch (Exception e) when (IsDriverProblem(e)) { }
            try { b.OpenCL(_ => true); } catch (Exception e) when (IsDriverProblem(e)) { }
            // Profiling enables stream markers (events), which StagedUpload uses to reuse page-locked buffers.
            b.CPU(cpu).CPU(GroupedCpu).EnableAlgorithms().Profiling().Optimize(OptimizationLevel.O2);
        });
        var list = new List<DeviceInfo>();
        int cudaIdx = 0, clIdx = 0, cpuIdx = 0;
        foreach (var d in context.Devices)
        {
            switch (d)
            {
                case CudaDevice cu:
                    list.Add(new DeviceInfo(DeviceKind.Cuda, cudaIdx++, cu.Name, cu.MemorySize, true, null) { Device = cu });
                    break;
                case CLDevice cl:
                    string? why = null;
                    if (!cl.Capabilities.GenericAddressSpace)
                        why = "no generic address space (ILGPU's OpenCL back end needs it)";
                    else if (cl.CLStdVersion < ILGPU.Backends.OpenCL.CLBackend.MinimumVersion)
                        why = $"OpenCL C {cl.CLStdVersion} is older than the {ILGPU.Backends.OpenCL.CLBackend.MinimumVersion} ILGPU needs";
                    list.Add(new DeviceInfo(DeviceKind.OpenCL, clIdx++, cl.Name, cl.MemorySize, why is null, why) { Device = cl });
                    break;
                case CPUDevice c when ReferenceEquals(c, GroupedCpu):
                    break; // not a choice for users: see OpenGroupedCpu
                case CPUDevice c:
                    list.Add(new DeviceInfo(DeviceKind.Cpu, cpuIdx++,
                        $"CPU accelerator ({c.NumMultiprocessors} cores x {c.MaxNumThreadsPerMultiprocessor} threads)",
                        0, true, null) { Device = c });
                    break;
            }
        }
        return (context, list);
    }

    static bool IsDriverProblem(Exception e) =>
        e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException or BadImageFormatException
          or InvalidOperationException or NotSupportedException;

    /// <summary>The best usable device: CUDA, then OpenCL, then the CPU accelerator.</summary>
    public static DeviceInfo Best()
    {
        foreach (var kind in new[] { DeviceKind.Cuda, DeviceKind.OpenCL, DeviceKind.Cpu })
            foreach (var d in List())
                if (d.Kind == kind && d.Usable) return d;
        throw new InvalidOperationException("no usable ILGPU device found (not even the CPU accelerator)");
    }

    /// <summary>Resolves a spec (<c>auto</c>, <c>cuda</c>, <c>cuda:1</c>, <c>opencl</c>, <c>cpu</c>) to a device.</summary>
    /// <exception cref="ArgumentException">Unknown spec, or the device is missing or unusable; the message lists the choices.</exception>
    public static DeviceInfo Resolve(string? spec)
    {
        spec = (spec ?? "auto").Trim().ToLowerInvariant();
        if (spec is "" or "auto" or "best") return Best();
        string kindText = spec, indexText = "";
        int colon = spec.IndexOf(':');
        if (colon >= 0) { kindText = spec[..colon]; indexText = spec[(colon + 1)..]; }
        DeviceKind kind = kindText switch
        {
            "cuda" or "gpu" => DeviceKind.Cuda,
            "opencl" or "cl" => DeviceKind.OpenCL,
            "cpu" => DeviceKind.Cpu,
            _ => throw new ArgumentException($"unknown device '{spec}'; valid choices: {SpecHelp}. {Available()}"),
        };
        int index = 0;
        bool explicitIndex = indexText.Length > 0;
        if (explicitIndex && (!int.TryParse(indexText, out index) || index < 0))
            throw new ArgumentException($"bad device index in '{spec}'; valid choices: {SpecHelp}. {Available()}");
        var ofKind = List().Where(d => d.Kind == kind).ToList();
        if (kind == DeviceKind.Cpu && ofKind.Count > 0)
            return ofKind[0] with { Index = index }; // cpu:N opens another CPU accelerator (a stand-in for a second GPU)
        DeviceInfo? found = explicitIndex ? ofKind.FirstOrDefault(d => d.Index == index) : ofKind.FirstOrDefault(d => d.Usable) ?? ofKind.FirstOrDefault();
        if (found is null)
            throw new ArgumentException($"device '{spec}' not found. {Available()}");
        if (!found.Usable)
            throw new ArgumentException($"device '{spec}' ({found.Name}) cannot be used: {found.Reason}. {Available()}");
        return found;
    }

    static string Available() =>
        "Usable here: " + string.Join(", ", List().Where(d => d.Usable).Select(d => $"{d.Id} ({d.Name})"));

    // 256 threads per group on one emulated multiprocessor: the group shape of the tiled GPU kernels.
    static readonly CPUDevice GroupedCpu = new(32, 8, 1);

    /// <summary>
    /// Opens a CPU accelerator whose groups hold 256 threads, so kernels written for GPU group shapes (shared memory,
    /// barriers, e.g. the tiled GEMMs) run on a machine without a GPU. It is slow: use it to validate such kernels.
    /// </summary>
    public static ComputeDevice OpenGroupedCpu()
    {
        var ctx = Context; // discovery registers the device
        var info = new DeviceInfo(DeviceKind.Cpu, 0, "CPU accelerator (256-thread groups, for GPU-shaped kernels)", 0, true, null) { Device = GroupedCpu };
        return new ComputeDevice(info);
    }

    /// <summary>Opens a new accelerator on the device a spec names.</summary>
    public static ComputeDevice Open(string? spec = "auto") => new(Resolve(spec));
}

using System.Collections.Concurrent;
using GpuCnn.Devices;
using Xunit;

namespace GpuCnn.Tests.Infrastructure;

/// <summary>
/// The back ends every device test runs on. The CPU accelerator always runs; CUDA and OpenCL skip with the reason
/// when this machine has no usable device of that kind. Devices are opened once per test run and shared, so each
/// kernel compiles once per accelerator.
/// </summary>
public static class Backends
{
    static readonly ConcurrentDictionary<string, Lazy<ComputeDevice>> Open = new();

    /// <summary>Every back end kind, in the order tests run them; the one list the suites cross with.</summary>
    public static readonly IReadOnlyList<string> Kinds = new[] { "cpu", "cuda", "opencl" };

    /// <summary>Theory data: one row per back end kind.</summary>
    public static TheoryData<string> All => new(Kinds);

    /// <summary>Theory data: every back end kind crossed with each of <paramref name="variants"/>.</summary>
    public static TheoryData<string, string> Crossed(params string[] variants)
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in Kinds)
            foreach (var v in variants) data.Add(kind, v);
        return data;
    }

    /// <summary>The shared device of a kind, or a skip (with the reason) when this machine has none usable.</summary>
    public static ComputeDevice Get(string kind)
    {
        var info = DeviceManager.List().Where(d => d.Kind.ToString().Equals(kind, StringComparison.OrdinalIgnoreCase)).ToList();
        Skip.If(info.Count == 0, $"no {kind} device on this machine");
        Skip.If(!info.Any(d => d.Usable), $"no usable {kind} device: {string.Join("; ", info.Select(d => $"{d.Name}: {d.Reason}"))}");
        return Open.GetOrAdd(kind, k => new Lazy<ComputeDevice>(() => DeviceManager.Open(k))).Value;
    }

    /// <summary>
    /// A new device of <paramref name="kind"/> that only the calling test uses (dispose it). Tests that count launches
    /// or pool allocations need one: test classes run in parallel, and the shared device counts their work too.
    /// </summary>
    public static ComputeDevice Private(string kind)
    {
        Get(kind); // skips when the back end is missing
        return DeviceManager.Open(kind);
    }

    /// <summary>
    /// A device of <paramref name="kind"/> with every GEMM product forced to family <paramref name="family"/>. For the
    /// tiled kernels the CPU is the 256-thread-group accelerator, since they need that group shape.
    /// </summary>
    public static ComputeDevice Tiled(string kind, GemmFamily family)
    {
        if (kind != "cpu") Get(kind); // skips when the back end is missing
        bool grouped = kind == "cpu" && family is GemmFamily.Tile64 or GemmFamily.Tile128;
        var dev = Open.GetOrAdd($"{kind}#{family}", _ => new Lazy<ComputeDevice>(() =>
            grouped ? DeviceManager.OpenGroupedCpu() : DeviceManager.Open(kind))).Value;
        dev.Gemm.Preference = family;
        return dev;
    }

    /// <summary>
    /// A device of <paramref name="kind"/> with every GEMM product forced to the host SIMD family; it runs only on the
    /// CPU accelerator (whose buffers are host memory), so the other back ends skip with that reason.
    /// </summary>
    public static ComputeDevice Simd(string kind)
    {
        Skip.If(kind != "cpu", $"the SIMD GEMM family computes on the host, so it runs on the CPU accelerator only, not on {kind}");
        return Tiled(kind, GemmFamily.Simd);
    }

    /// <summary>
    /// A device of <paramref name="kind"/> on the cuBLAS path (SGEMM, and im2col lowering for convolutions). CUDA uses
    /// the real library and skips when it cannot load; elsewhere a stand-in serves the same column-major calls.
    /// </summary>
    public static ComputeDevice CuBlas(string kind)
    {
        if (kind != "cpu") Get(kind);
        var dev = Open.GetOrAdd($"{kind}#cublas", _ => new Lazy<ComputeDevice>(() => DeviceManager.Open(kind))).Value;
        dev.Gemm.Preference = GemmFamily.CuBlas;
        if (kind == "cuda") Skip.IfNot(dev.Gemm.CuBlasReady(), dev.Gemm.CuBlasProblem);
        else dev.Gemm.CuBlasStandIn = true;
        return dev;
    }

    /// <summary>
    /// A second device of <paramref name="kind"/> for placement tests: the second CPU accelerator, or a second
    /// accelerator on the same GPU (what a one-GPU machine can offer as two devices).
    /// </summary>
    public static ComputeDevice Second(string kind) =>
        kind == "cpu" ? SecondCpu : Open.GetOrAdd($"{kind}#2", _ => new Lazy<ComputeDevice>(() => { Get(kind); return DeviceManager.Open(kind); })).Value;

    /// <summary>A second, independent CPU accelerator (a stand-in for a second GPU).</summary>
    public static ComputeDevice SecondCpu => Open.GetOrAdd("cpu#2", _ => new Lazy<ComputeDevice>(() => DeviceManager.Open("cpu:1"))).Value;
}

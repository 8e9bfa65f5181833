using GpuCnn.Kernels.Gemm;
using ILGPU;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="GemmFamily.Simd"/>: the blocked family's decomposition of every product into strided GEMMs (weights,
/// activations and gradients in place, the im2col matrix lowered by the same kernel for a chunk of images), with
/// each GEMM computed on the host by <see cref="SimdGemm"/> instead of by an ILGPU kernel. The CPU accelerator's
/// buffers are host memory, so it reads and writes them where they are, after synchronising the stream: the kernels
/// launched before it (the lowering, the layer before) have then finished. The kernels launched after it start
/// after it has returned. Only the CPU accelerator.
/// </summary>
internal sealed class SimdFamily : BlockedFamily
{
    internal SimdFamily(ComputeDevice device) : base(device) { }

    /// <inheritdoc/>
    public override GemmFamily Id => GemmFamily.Simd;

    /// <summary>Host threads a product may use (the thread count never changes the results).</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    /// <inheritdoc/>
    public override bool Supports(in GemmProduct product) => device.Kind == DeviceKind.Cpu;

    /// <inheritdoc/>
    protected override unsafe void Gemm(in BlockedGemmArgs args)
    {
        if (args.P.M <= 0 || args.P.N <= 0) return;
        device.Synchronize();
        SimdGemm.Run(args.P, HostMemory.Ptr(args.A), HostMemory.Ptr(args.B), HostMemory.Ptr(args.Bias), HostMemory.Ptr(args.C), Threads);
    }

    /// <summary>Computes one prepared strided GEMM (the tests' entry point).</summary>
    internal void Compute(in BlockedGemmArgs args)
    {
        if (device.Kind != DeviceKind.Cpu) throw new NotSupportedException($"the SIMD GEMM family runs on the host; {device.Id} is not the CPU accelerator");
        Gemm(args);
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using GpuCnn.Perf.Experimental;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The numbered experimental kernels of perf/Experimental: the same double reference as the library's tiled GEMM,
/// and PTX that shows the point of the experiment, so that a GPU session only has to time them.
/// </summary>
public class ExperimentalKernelTests
{
    public static TheoryData<string, string> Variants => Backends.Crossed("Tile64V4", "Tile128V4");

    static readonly Lazy<ComputeDevice> GroupedCpu = new(DeviceManager.OpenGroupedCpu);

    static Action<TiledGemmArgs<DenseA, DenseB, DenseC>> Kernel(string name) => name switch
    {
        "Tile64V4" => Gemm01Vec4Kernels.Tile64V4,
        "Tile128V4" => Gemm01Vec4Kernels.Tile128V4,
        _ => throw new ArgumentException(name),
    };

    [SkippableTheory, MemberData(nameof(Variants))]
    public void Vec4_tiled_gemm_matches_double_reference(string backend, string kernel)
    {
        // On the CPU, a 256-thread-group accelerator (the group shape the tiled kernels are written for) of this
        // class's own, so its launches never wait behind another test class's.
        var dev = backend == "cpu" ? GroupedCpu.Value : Backends.Get(backend);
        int tile = kernel == "Tile64V4" ? 64 : 128;
        var k = dev.LoadGroupedKernel(Kernel(kernel));
        TiledGemmTests.DenseMatchesDoubleReference(dev, kernel, (a, b, c, s) =>
            k.Launch(new KernelConfig(new Index3D((s.N + tile - 1) / tile, (s.M + tile - 1) / tile, s.Batches * s.Splits),
                new Index3D(TiledGemmKernels.GroupSize, 1, 1)), new() { A = a, B = b, C = c, Shape = s }));
    }

    [Theory]
    [InlineData("Tile64V4")]
    [InlineData("Tile128V4")]
    public void Vec4_kernels_read_shared_memory_as_vectors_and_keep_accumulators_in_registers(string kernel)
    {
        using var context = Context.Create(b => b.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O2)); // as DeviceManager
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        // The dense instantiation and the implicit-GEMM convolution one: their shared-memory reads are the same code.
        foreach (var method in new[]
        {
            typeof(Gemm01Vec4Kernels).GetMethod(kernel)!.MakeGenericMethod(typeof(DenseA), typeof(DenseB), typeof(DenseC)),
            typeof(Gemm01Vec4Kernels).GetMethod(kernel)!.MakeGenericMethod(typeof(DenseA), typeof(ConvImageB), typeof(ConvOutputC)),
        })
        {
            var ck = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
            string ptx = ck.PTXAssembly;
            int vectors = ptx.Split('\n').Count(l => l.Contains("ld.shared.v4.f32"));
            int scalars = ptx.Split('\n').Count(l => l.Contains("ld.shared.f32"));
            int perStep = kernel == "Tile64V4" ? 2 : 4; // A and B fragments of one k step
            Assert.True(vectors >= perStep, $"{method}: {vectors} ld.shared.v4.f32 in the PTX, expected at least {perStep}");
            Assert.Equal(0, scalars);
            Assert.DoesNotContain(".local", ptx);
        }
    }
}

using System.Reflection;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// Compiles every kernel to PTX for SM_90 and to OpenCL C 2.0 offline, as the CUDA and OpenCL back ends would, so a kernel that the CPU accelerator
/// runs but a GPU back end rejects (unsupported construct or intrinsic, dynamic shared-memory size) fails in CI without a GPU.
/// </summary>
public class BackendCompileTests : IDisposable
{
    readonly Context context = Context.Create(b => b.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O2)); // as DeviceManager
    readonly PTXBackend backend;

    public BackendCompileTests() => backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);

    public void Dispose()
    {
        backend.Dispose();
        context.Dispose();
    }

    static readonly Type[] KernelTypes = typeof(Chunk).Assembly.GetTypes();

    /// <summary>Every chunked kernel (first parameter Index1D), generic ones once per implementation of their constraint.</summary>
    public static IEnumerable<object[]> ChunkedKernels()
    {
        foreach (var t in KernelTypes.Where(t => t.IsClass && t.IsAbstract && t.IsSealed)) // static classes
            foreach (var m in t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            {
                var ps = m.GetParameters();
                if (ps.Length == 0 || ps[0].ParameterType != typeof(Index1D)) continue;
                if (!m.IsGenericMethodDefinition) { yield return new object[] { $"{t.Name}.{m.Name}" }; continue; }
                var constraint = m.GetGenericArguments()[0].GetGenericParameterConstraints().Single(c => c.IsInterface);
                foreach (var impl in KernelTypes.Where(x => x.IsValueType && constraint.IsAssignableFrom(x)))
                    yield return new object[] { $"{t.Name}.{m.Name}<{impl.Name}>" };
            }
    }

    static MethodInfo Resolve(string name)
    {
        int dot = name.IndexOf('.'), lt = name.IndexOf('<');
        var type = KernelTypes.Single(t => t.Name == name[..dot]);
        string method = lt < 0 ? name[(dot + 1)..] : name[(dot + 1)..lt];
        var mi = type.GetMethod(method, BindingFlags.Public | BindingFlags.Static)!;
        if (lt < 0) return mi;
        var args = name[(lt + 1)..^1].Split(',').Select(a => KernelTypes.Single(t => t.Name == a.Trim())).ToArray();
        return mi.MakeGenericMethod(args);
    }

    [Theory, MemberData(nameof(ChunkedKernels))]
    public void Chunked_kernel_compiles_to_ptx(string kernel)
    {
        var ck = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(Resolve(kernel)), KernelSpecialization.Empty);
        Assert.Contains(".entry", ck.PTXAssembly);
    }

    /// <summary>Kernels that split a flat index into coordinates for every element they touch.</summary>
    public static TheoryData<string> PerElementIndexingKernels() => new()
    {
        // The cuBLAS path's im2col, col2im and permutes.
        "LoweringKernels.Im2Col", "LoweringKernels.Col2Im", "LoweringKernels.BatchToChannelMajor", "LoweringKernels.ChannelToBatchMajor",
        // The blocked GEMM and its row-wise im2col (the CPU accelerator's choice for large products).
        "BlockedGemmKernels.Gemm4x8", "BlockedGemmKernels.Gemm16x8", "LoweringKernels.Im2ColRows",
        // Direct convolution (the CPU accelerator's choice for small products, and a candidate of the per-shape timing on a GPU).
        "ConvKernels.Forward", "ConvKernels.BackwardData", "ConvKernels.BackwardFilter",
        "ConvKernels.PointwiseForward", "ConvKernels.PointwiseBackwardData", "ConvKernels.PointwiseBackwardFilter",
        // Pooling, LRN, BatchNorm and Concat.
        "PoolKernels.SelectForward<MaxSelect>", "PoolKernels.SelectBackward<MaxSelect>", "PoolKernels.AvgForward", "PoolKernels.AvgBackward",
        "PoolKernels.StochasticForward", "PoolKernels.StochasticBackward", "PoolKernels.AdaptiveAvgForward", "PoolKernels.AdaptiveAvgBackward",
        "LrnKernels.Forward", "LrnKernels.Backward", "BatchNormKernels.Normalize", "BatchNormKernels.BackwardData", "TensorKernels.CopyChannels",
    };

    [Theory, MemberData(nameof(PerElementIndexingKernels))]
    public void Per_element_kernels_index_without_integer_division(string kernel)
    {
        // A 32-bit division is a ~20-instruction routine on a GPU, paid per element (and per window or tap in the
        // gathers); these kernels divide through FastDiv values prepared on the host instead.
        var ck = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(Resolve(kernel)), KernelSpecialization.Empty);
        int divisions = IntegerDivisions(ck.PTXAssembly);
        Assert.True(divisions == 0, $"{kernel}: {divisions} integer divisions in the PTX");
    }

    /// <summary>PTX lines that divide or take a remainder of 32-bit integers.</summary>
    static int IntegerDivisions(string ptx) =>
        ptx.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"\b(div|rem)\.[su]32\b"));

    /// <summary>OpenCL C 2.0 with every optional capability (the PoCL of the GPU machine has generic address spaces).</summary>
    CLBackend OpenClBackend()
    {
        var ctor = typeof(CLCapabilityContext).GetConstructors().Single(c => c.GetParameters().All(p => p.ParameterType == typeof(bool)));
        var caps = (CLCapabilityContext)ctor.Invoke(ctor.GetParameters().Select(_ => (object)true).ToArray());
        return new CLBackend(context, caps, CLDeviceVendor.Other, new CLCVersion(2, 0));
    }

    [Theory, MemberData(nameof(ChunkedKernels))]
    public void Chunked_kernel_compiles_to_opencl_c(string kernel)
    {
        using var cl = OpenClBackend();
        var ck = (CLCompiledKernel)cl.Compile(EntryPointDescription.FromImplicitlyGroupedKernel(Resolve(kernel)), KernelSpecialization.Empty);
        Assert.Contains("kernel", ck.Source);
    }

    [Theory, MemberData(nameof(TiledKernels))]
    public void Tiled_kernel_compiles_to_opencl_c(string kernel)
    {
        using var cl = OpenClBackend();
        var ck = (CLCompiledKernel)cl.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(Resolve(kernel)), KernelSpecialization.Empty);
        Assert.Contains("barrier", ck.Source);
    }

    /// <summary>Every tiled-kernel instantiation the layers launch.</summary>
    public static TheoryData<string> TiledKernels()
    {
        var data = new TheoryData<string>();
        string[] operands =
        {
            $"{nameof(DenseA)},{nameof(DenseB)},{nameof(DenseC)}",
            $"{nameof(DenseA)},{nameof(DenseB)},{nameof(PartialC)}",
            $"{nameof(DenseA)},{nameof(ConvImageB)},{nameof(ConvOutputC)}",
            $"{nameof(ConvDataWeightA)},{nameof(ConvDataGradB)},{nameof(ConvDataGradC)}",
            $"{nameof(ConvFilterGradA)},{nameof(ConvFilterImageB)},{nameof(DenseC)}",
            $"{nameof(ConvFilterGradA)},{nameof(ConvFilterImageB)},{nameof(PartialC)}",
        };
        foreach (var k in new[] { nameof(TiledGemmKernels.Tile64), nameof(TiledGemmKernels.Tile128) })
            foreach (var o in operands) data.Add($"{nameof(TiledGemmKernels)}.{k}<{o}>");
        return data;
    }

    [Theory, MemberData(nameof(TiledKernels))]
    public void Tiled_kernel_compiles_to_ptx_with_static_shared_memory_and_register_accumulators(string kernel)
    {
        var ck = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(Resolve(kernel)), KernelSpecialization.Empty);
        string ptx = ck.PTXAssembly;
        Assert.Contains(".shared", ptx);
        Assert.Contains("bar.sync", ptx);
        // The accumulators are scalar locals: nothing may live in local (stack) memory.
        Assert.DoesNotContain(".local", ptx);
        Assert.DoesNotContain("ld.local", ptx);
        // An integer division is a ~20-instruction routine on a GPU. Only the prologue (grid z into batch and split)
        // may divide; the operands' loaders and epilogues use FastDiv (ConvParams.Prepare).
        int divisions = IntegerDivisions(ptx);
        Assert.True(divisions <= 1, $"{kernel}: {divisions} integer divisions in the PTX");
    }
}

using GpuCnn.Devices;
using GpuCnn.Layers;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// Every shared convolution case (<see cref="ConvCases"/>) on every back end with every GEMM family forced for all
/// three products (forward, data and filter gradients), and with the default automatic choice: the forward against the double reference and the backward
/// against finite differences. The tiled families run on the CPU through the 256-thread-group accelerator, and the
/// cuBLAS family through its column-major stand-in where CUDA is missing.
/// </summary>
public class ConvolutionMatrixTests
{
    static readonly GemmFamily[] Families = { GemmFamily.Auto, GemmFamily.Direct, GemmFamily.Blocked, GemmFamily.Tile64, GemmFamily.Tile128, GemmFamily.CuBlas, GemmFamily.Simd };

    /// <summary>(back end, family, case) for every combination.</summary>
    public static TheoryData<string, string, string> Matrix()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var backend in Backends.Kinds)
            foreach (var family in Families)
                foreach (var c in ConvCases.All)
                    data.Add(backend, family.ToString().ToLowerInvariant(), c.Name);
        return data;
    }

    internal static ComputeDevice Device(string backend, GemmFamily family) => family switch
    {
        GemmFamily.Auto => Backends.Get(backend), // the shared device: tuned on GPUs, chosen by size on the CPU
        GemmFamily.CuBlas => Backends.CuBlas(backend),
        GemmFamily.Simd => Backends.Simd(backend), // host SIMD: skips on CUDA and OpenCL
        _ => Backends.Tiled(backend, family),
    };

    [GradientCheck(typeof(Conv2d))]
    [SkippableTheory, MemberData(nameof(Matrix))]
    public void Conv2d_gradients(string backend, string family, string name)
    {
        var c = ConvCases.Get(name);
        GradCheck.Layer(Device(backend, GemmEngine.Parse(family)), c.Layer(), c.Batch, c.Input);
    }
}

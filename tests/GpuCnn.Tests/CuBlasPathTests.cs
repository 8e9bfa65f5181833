using GpuCnn.Devices;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The cuBLAS path of Linear and Conv2d: the row-major to column-major mapping, the im2col/col2im lowering and the
/// layout permutes, against double references and gradient checks. On CUDA it calls cuBLAS itself; on the CPU the
/// same column-major calls go to a stand-in, so everything but the library call is checked without a GPU.
/// </summary>
public class CuBlasPathTests
{
    /// <summary>CUDA runs the real library; the CPU its column-major stand-in (OpenCL would only repeat the stand-in).</summary>
    public static TheoryData<string> Kinds => new(Backends.Kinds.Where(k => k != "opencl"));

    [SkippableTheory, MemberData(nameof(Kinds))]
    public void Linear(string kind) =>
        GradCheck.Layer(Backends.CuBlas(kind), new Linear(19, 7), 3, new Shape(19));

    [Fact]
    public void Cpu_without_stand_in_falls_back_to_own_kernels_with_a_reason()
    {
        using var dev = DeviceManager.Open("cpu");
        dev.Gemm.Preference = GemmFamily.CuBlas;
        Assert.False(dev.Gemm.CuBlasReady());
        Assert.Contains("CUDA", dev.Gemm.CuBlasProblem);
        // Default operands: a timing run would fail on them, so the fallback must choose without timing.
        var small = GemmProduct.Dense(GemmOperation.LinearForward, 1, 1, 1, false, true, 1, 1, 1);
        Assert.Equal(GemmFamily.Direct, dev.Gemm.Choose(small, default));
        Assert.Empty(dev.Gemm.Timings);
        // And a layer still computes correctly on the fallback.
        GradCheck.Layer(dev, new Conv2d(2, 3, 3), 2, new Shape(2, 5, 5));
    }
}

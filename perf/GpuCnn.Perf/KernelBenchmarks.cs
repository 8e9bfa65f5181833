using BenchmarkDotNet.Attributes;
using GpuCnn.Devices;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Perf;

/// <summary>
/// The convolution and GEMM kernels on LeNet-5's and a larger GEMM's shapes. Each benchmark launches one kernel and
/// waits for the device, so it times exactly that kernel (plus one launch). <see cref="FlopsColumn"/> turns the
/// mean time into GFLOP/s with the FLOP count each benchmark declares in <see cref="Flops"/>.
/// </summary>
public class KernelBenchmarks
{
    /// <summary>FLOPs per invocation, by benchmark method name.</summary>
    public static readonly Dictionary<string, double> Flops = new();

    ComputeDevice dev = null!;
    MemoryBuffer1D<float, Stride1D.Dense> x = null!, w = null!, b = null!, y = null!, ga = null!, gb = null!, gc = null!;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>> convFwd = null!;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float> convData = null!, convFilter = null!;
    Action<AcceleratorStream, Index1D, int, int, GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>> gemm = null!;
    ConvParams conv, pw;
    GemmParams gp;
    BlockedGemmParams bgp, bconv;
    MemoryBuffer1D<float, Stride1D.Dense> col = null!;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>> im2colRows = null!;
    MemoryBuffer1D<float, Stride1D.Dense> px = null!, pwW = null!, py = null!;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>> pointwiseFwd = null!;

    /// <summary>Device spec (set GPUCNN_BENCH_DEVICE to choose; default: the best device).</summary>
    public static string DeviceSpec => Environment.GetEnvironmentVariable("GPUCNN_BENCH_DEVICE") ?? "auto";

    /// <summary>Batch size of the convolution benchmarks.</summary>
    [Params(64)]
    public int Batch { get; set; }

    /// <summary>Square GEMM size.</summary>
    [Params(512)]
    public int GemmSize { get; set; }

    /// <summary>Opens the device and fills the buffers.</summary>
    [GlobalSetup]
    public void Setup()
    {
        dev = DeviceManager.Open(DeviceSpec);
        Console.WriteLine($"// device: {dev}");
        // LeNet-5's conv2: 6→16 channels, 5×5, on 14×14.
        conv = new ConvParams { N = Batch, C = 6, H = 14, W = 14, K = 16, OH = 10, OW = 10, KH = 5, KW = 5, SH = 1, SW = 1, DH = 1, DW = 1, G = 1 }.Prepare();
        var rng = new Random(1);
        float[] R(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = (float)rng.NextDouble() - 0.5f; return a; }
        x = dev.Accelerator.Allocate1D(R((long)Batch * 6 * 14 * 14));
        w = dev.Accelerator.Allocate1D(R(16 * 6 * 25));
        b = dev.Accelerator.Allocate1D(R(16));
        y = dev.Accelerator.Allocate1D(R((long)Batch * 16 * 10 * 10));
        int s = GemmSize;
        ga = dev.Accelerator.Allocate1D(R((long)s * s));
        gb = dev.Accelerator.Allocate1D(R((long)s * s));
        gc = dev.Accelerator.Allocate1D(R((long)s * s));
        gp = new GemmParams { M = s, N = s, K = s, Lda = s, Ldb = s, Ldc = s, Alpha = 1, Beta = 0 };
        convFwd = dev.Load<ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(ConvKernels.Forward);
        convData = dev.Load<ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(ConvKernels.BackwardData);
        convFilter = dev.Load<ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(ConvKernels.BackwardFilter);
        gemm = dev.Load<GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(GemmKernels.Gemm);
        // GoogLeNet inception3a's 3×3 reduce: a 1×1 convolution 192→96 on 28×28, batch 8.
        pw = new ConvParams { N = 8, C = 192, H = 28, W = 28, K = 96, OH = 28, OW = 28, KH = 1, KW = 1, SH = 1, SW = 1, DH = 1, DW = 1, G = 1 }.Prepare();
        px = dev.Accelerator.Allocate1D(R(8L * 192 * 784));
        pwW = dev.Accelerator.Allocate1D(R(96 * 192));
        py = dev.Accelerator.Allocate1D(R(8L * 96 * 784));
        pointwiseFwd = dev.Load<ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(ConvKernels.PointwiseForward);
        Flops[nameof(Conv1x1GeneralKernel)] = Flops[nameof(Conv1x1PointwiseKernel)] = 2.0 * 8 * 96 * 784 * 192;
        double convFlops = 2.0 * Batch * 16 * 100 * 6 * 25;
        Flops[nameof(ConvForward)] = convFlops;
        Flops[nameof(ConvBackwardData)] = convFlops;
        Flops[nameof(ConvBackwardFilter)] = convFlops;
        Flops[nameof(Sgemm)] = Flops[nameof(SgemmBlocked)] = 2.0 * s * s * s;
        bgp = new BlockedGemmParams { M = s, N = s, K = s, G = 1, AStepM = s, AStepK = 1, BStepK = s, BStepN = 1, CStepM = s, Alpha = 1 }.Prepare();
        // The blocked path of the same conv2 forward, as Conv2d runs it: im2col by rows, then W·col stored as NCHW.
        Flops[nameof(ConvForwardBlocked)] = convFlops;
        col = dev.Accelerator.Allocate1D<float>(150L * Batch * 100);
        im2colRows = dev.Load<ConvParams, ArrayView<float>, ArrayView<float>>(LoweringKernels.Im2ColRows);
        bconv = new BlockedGemmParams
        {
            M = 16, N = Batch * 100, K = 150, G = 1, AStepM = 150, AStepK = 1, BStepK = Batch * 100, BStepN = 1, BSegN = 100,
            CStepM = 100, CSegN = 1600, Alpha = 1, BiasMode = 2,
        }.Prepare(100);
    }

    /// <summary>LeNet-5 conv2 forward.</summary>
    [Benchmark]
    public void ConvForward()
    {
        dev.Launch(convFwd, Batch * 1600, conv, x.View, w.View, b.View, 1, y.View);
        dev.Synchronize();
    }

    /// <summary>LeNet-5 conv2 data gradient.</summary>
    [Benchmark]
    public void ConvBackwardData()
    {
        dev.Launch(convData, Batch * 6 * 196, conv, y.View, w.View, x.View, 0f);
        dev.Synchronize();
    }

    /// <summary>LeNet-5 conv2 filter gradient.</summary>
    [Benchmark]
    public void ConvBackwardFilter()
    {
        dev.Launch(convFilter, 16 * 6 * 25, conv, x.View, y.View, w.View, 0f);
        dev.Synchronize();
    }

    /// <summary>A 1×1 convolution through the general direct kernel (tap loops of length 1).</summary>
    [Benchmark]
    public void Conv1x1GeneralKernel()
    {
        dev.Launch(convFwd, 8 * 96 * 784, pw, px.View, pwW.View, b.View, 0, py.View);
        dev.Synchronize();
    }

    /// <summary>The same 1×1 convolution through the pointwise kernel.</summary>
    [Benchmark]
    public void Conv1x1PointwiseKernel()
    {
        dev.Launch(pointwiseFwd, 8 * 96 * 784, pw, px.View, pwW.View, b.View, 0, py.View);
        dev.Synchronize();
    }

    /// <summary>Square SGEMM C = A·B.</summary>
    [Benchmark]
    public void Sgemm()
    {
        dev.Launch(gemm, GemmSize * GemmSize, gp, ga.View, gb.View, gb.View, 0, gc.View);
        dev.Synchronize();
    }

    /// <summary>LeNet-5 conv2 forward on the blocked path: row-wise im2col and the register-tiled GEMM (16 output channels: the 16×8 tile).</summary>
    [Benchmark]
    public void ConvForwardBlocked()
    {
        dev.Launch(im2colRows, 150 * Batch * 10, conv, x.View, col.View);
        dev.Gemm.LaunchBlocked(bconv, w.View, col.View, b.View, y.View);
        dev.Synchronize();
    }

    /// <summary>The same square SGEMM through the register-tiled kernel (the 16×8 tile).</summary>
    [Benchmark]
    public void SgemmBlocked()
    {
        dev.Gemm.LaunchBlocked(bgp, ga.View, gb.View, gb.View, gc.View);
        dev.Synchronize();
    }

    /// <summary>Frees the device.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var buf in new[] { x, w, b, y, ga, gb, gc, px, pwW, py, col }) buf.Dispose();
        dev.Dispose();
    }
}

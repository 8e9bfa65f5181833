using BenchmarkDotNet.Attributes;
using GpuCnn.Devices;
using GpuCnn.Kernels;
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
    Kernel<ConvForwardArgs> convFwd = null!, pointwiseFwd = null!;
    Kernel<ConvDataGradArgs> convData = null!;
    Kernel<ConvFilterGradArgs> convFilter = null!;
    Kernel<GemmArgs> gemm = null!;
    ConvParams conv, pw;
    GemmParams gp;
    BlockedGemmParams bgp, bconv;
    MemoryBuffer1D<float, Stride1D.Dense> col = null!;
    Kernel<Im2ColArgs> im2colRows = null!;
    MemoryBuffer1D<float, Stride1D.Dense> px = null!, pwW = null!, py = null!;

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
        convFwd = dev.LoadKernel<ConvForwardArgs>(ConvKernels.Forward);
        convData = dev.LoadKernel<ConvDataGradArgs>(ConvKernels.BackwardData);
        convFilter = dev.LoadKernel<ConvFilterGradArgs>(ConvKernels.BackwardFilter);
        gemm = dev.LoadKernel<GemmArgs>(GemmKernels.Gemm);
        // GoogLeNet inception3a's 3×3 reduce: a 1×1 convolution 192→96 on 28×28, batch 8.
        pw = new ConvParams { N = 8, C = 192, H = 28, W = 28, K = 96, OH = 28, OW = 28, KH = 1, KW = 1, SH = 1, SW = 1, DH = 1, DW = 1, G = 1 }.Prepare();
        px = dev.Accelerator.Allocate1D(R(8L * 192 * 784));
        pwW = dev.Accelerator.Allocate1D(R(96 * 192));
        py = dev.Accelerator.Allocate1D(R(8L * 96 * 784));
        pointwiseFwd = dev.LoadKernel<ConvForwardArgs>(ConvKernels.PointwiseForward);
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
        im2colRows = dev.LoadKernel<Im2ColArgs>(LoweringKernels.Im2ColRows);
        bconv = new BlockedGemmParams
        {
            M = 16, N = Batch * 100, K = 150, G = 1, AStepM = 150, AStepK = 1, BStepK = Batch * 100, BStepN = 1, BSegN = 100,
            CStepM = 100, CSegN = 1600, Alpha = 1, BiasMode = BiasMode.PerRow,
        }.Prepare(100);
    }

    /// <summary>LeNet-5 conv2 forward.</summary>
    [Benchmark]
    public void ConvForward()
    {
        convFwd.Launch(Batch * 1600, new() { P = conv, X = x.View, W = w.View, Bias = b.View, BiasMode = BiasMode.PerRow, Y = y.View });
        dev.Synchronize();
    }

    /// <summary>LeNet-5 conv2 data gradient.</summary>
    [Benchmark]
    public void ConvBackwardData()
    {
        convData.Launch(Batch * 6 * 196, new() { P = conv, Dy = y.View, W = w.View, Dx = x.View });
        dev.Synchronize();
    }

    /// <summary>LeNet-5 conv2 filter gradient.</summary>
    [Benchmark]
    public void ConvBackwardFilter()
    {
        convFilter.Launch(16 * 6 * 25, new() { P = conv, X = x.View, Dy = y.View, Dw = w.View });
        dev.Synchronize();
    }

    /// <summary>A 1×1 convolution through the general direct kernel (tap loops of length 1).</summary>
    [Benchmark]
    public void Conv1x1GeneralKernel()
    {
        convFwd.Launch(8 * 96 * 784, new() { P = pw, X = px.View, W = pwW.View, Y = py.View });
        dev.Synchronize();
    }

    /// <summary>The same 1×1 convolution through the pointwise kernel.</summary>
    [Benchmark]
    public void Conv1x1PointwiseKernel()
    {
        pointwiseFwd.Launch(8 * 96 * 784, new() { P = pw, X = px.View, W = pwW.View, Y = py.View });
        dev.Synchronize();
    }

    /// <summary>Square SGEMM C = A·B.</summary>
    [Benchmark]
    public void Sgemm()
    {
        gemm.Launch(GemmSize * GemmSize, new() { P = gp, A = ga.View, B = gb.View, C = gc.View });
        dev.Synchronize();
    }

    /// <summary>LeNet-5 conv2 forward on the blocked path: row-wise im2col and the register-tiled GEMM (16 output channels: the 16×8 tile).</summary>
    [Benchmark]
    public void ConvForwardBlocked()
    {
        im2colRows.Launch(150 * Batch * 10, new() { P = conv, X = x.View, Col = col.View });
        dev.Gemm.LaunchBlocked(new BlockedGemmArgs { P = bconv, A = w.View, B = col.View, Bias = b.View, C = y.View });
        dev.Synchronize();
    }

    /// <summary>The same square SGEMM through the register-tiled kernel (the 16×8 tile).</summary>
    [Benchmark]
    public void SgemmBlocked()
    {
        dev.Gemm.LaunchBlocked(new BlockedGemmArgs { P = bgp, A = ga.View, B = gb.View, C = gc.View });
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

using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;

namespace GpuCnn.SimdProbe;

/// <summary>
/// The host GEMM alone on the strided products that the SIMD family makes of LeNet-5's (batch 64), ResNet-18's (32×32,
/// batch 16) and AlexNet's (224×224, batch 4) convolutions: forward W·col, data gradient Wᵀ·dy and filter gradient
/// dy·colᵀ for one chunk of images (the chunk Conv2d's default column budget gives), with the parameters built as
/// BlockedFamily builds them for one group. The im2col matrix is random data here: the lowering is not timed.
/// </summary>
static unsafe class ConvShapes
{
    /// <summary>A convolution: channels in and out, kernel side, output side, images in one chunk.</summary>
    record Conv(string Name, int C, int K, int Kernel, int Out, int Images);

    static readonly Conv[] Convs =
    {
        new("lenet conv1", 1, 6, 5, 28, 64),
        new("lenet conv2", 6, 16, 5, 10, 64),
        new("resnet 64x32²", 64, 64, 3, 32, 7),
        new("resnet 512x4²", 512, 512, 3, 4, 16),
        new("alexnet conv1", 3, 64, 11, 55, 3),
        new("alexnet conv3", 192, 384, 3, 13, 4),
    };

    public static void Run(int threads, int reps)
    {
        foreach (var c in Convs)
        {
            int plane = c.Out * c.Out, rows = c.C * c.Kernel * c.Kernel, np = c.Images * plane, outImage = c.K * plane;
            var w = Random(c.K * rows, 1);
            var col = Random((long)rows * np, 2);
            var dy = Random((long)c.Images * outImage, 3);
            var bias = Random(c.K, 4);
            var y = new float[(long)c.Images * outImage];
            var colGrad = new float[(long)rows * np];
            var dw = new float[c.K * rows];
            var forward = new BlockedGemmParams
            {
                M = c.K, N = np, K = rows, G = 1, AStepM = rows, AStepK = 1, AStrideG = c.K * rows,
                BStepK = np, BStepN = 1, BSegN = plane, BStrideG = rows * np,
                CStepM = plane, CSegN = outImage, CStrideG = c.K * plane, Alpha = 1,
                BiasMode = BiasMode.PerRow, Activation = FusedActivation.Relu,
            }.Prepare(plane);
            var data = new BlockedGemmParams
            {
                M = rows, N = np, K = c.K, G = 1, AStepM = 1, AStepK = rows, AStrideG = c.K * rows,
                BStepK = plane, BStepN = 1, BSegN = outImage, BStrideG = c.K * plane,
                CStepM = np, CSegN = plane, CStrideG = rows * np, Alpha = 1,
            }.Prepare(plane);
            var filter = new BlockedGemmParams
            {
                M = c.K, N = rows, K = np, G = 1, KSeg = plane,
                AStepM = plane, AStepK = 1, ASegK = outImage, AStrideG = c.K * plane,
                BStepK = 1, BSegK = plane, BStepN = np, BStrideG = rows * np,
                CStepM = rows, CStrideG = c.K * rows, Alpha = 1,
            }.Prepare();
            double flop = 2.0 * c.K * rows * np;
            fixed (float* pw = w, pcol = col, pdy = dy, pb = bias, py = y, pcg = colGrad, pdw = dw)
            {
                float* fw = pw, fcol = pcol, fdy = pdy, fb = pb, fy = py, fcg = pcg, fdw = pdw;
                string shape = $"{c.Name} ({c.C}->{c.K}, {c.Kernel}x{c.Kernel}, {c.Out}², {c.Images} images)";
                Probe.Time($"{shape} forward {c.K}x{np}x{rows}", flop, reps, () => SimdGemm.Run(forward, fw, fcol, fb, fy, threads), () => y);
                if (c.C > 1)
                    Probe.Time($"{shape} data grad {rows}x{np}x{c.K}", flop, reps, () => SimdGemm.Run(data, fw, fdy, null, fcg, threads), () => colGrad);
                Probe.Time($"{shape} filter grad {c.K}x{rows}x{np}", flop, reps, () => SimdGemm.Run(filter, fdy, fcol, null, fdw, threads), () => dw);
            }
        }
    }

    static float[] Random(long length, int seed)
    {
        var rng = new Random(seed);
        var v = new float[length];
        for (long i = 0; i < length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }
}

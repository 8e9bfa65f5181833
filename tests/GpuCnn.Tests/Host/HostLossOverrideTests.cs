using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using GpuCnn.Kernels.Loss;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>The losses' and bias gradients' host overrides give their ILGPU bodies' bits.</summary>
public class HostLossOverrideTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Loss_overrides_match_the_kernel_bodies(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var sce = dev.LoadKernel<SoftmaxCrossEntropyArgs>(LossKernels.SoftmaxCrossEntropy);
        var acc = dev.LoadKernel<LossStatsArgs>(LossKernels.AccumulateStats);
        var ce = dev.LoadKernel<CrossEntropyArgs>(CrossEntropyKernels.Rows);
        foreach (var (rows, classes) in new[] { (1, 1), (5, 10), (300, 7) })
        {
            float[] z = OverrideCheck.Values(rows, rows * classes, 8f, false), loss = new float[rows], correct = new float[rows], dz = new float[rows * classes];
            int[] labels = Enumerable.Range(0, rows).Select(i => i % 11 == 3 ? -1 : i % 13 == 5 ? classes : (i * 7) % classes).ToArray();
            float[] w = OverrideCheck.Values(classes, classes, 1f, false).Select(v => MathF.Abs(v) + 0.1f).ToArray(), rowGrad = OverrideCheck.Values(rows + 1, rows, 1f, false);
            OverrideCheck.BitEqual(dev, sce, [z, loss, correct, dz], b => sce.Launch(rows, new()
            {
                Classes = classes, Logits = b.F(0), Labels = b.I(0), Loss = b.F(1), Correct = b.F(2), DLogits = b.F(3), Scale = 1f / rows,
            }), [labels]);
            OverrideCheck.BitEqual(dev, acc, [loss, correct], b => acc.Launch(1, new()
            {
                Rows = rows, Loss = b.F(0), Correct = b.F(1), Labels = b.I(0), Stats = b.D(0),
            }), [labels], [[1.5, 2, 3]]);
            OverrideCheck.BitEqual(dev, ce, [z, w, loss, correct, dz, rowGrad], b => ce.Launch(rows, new()
            {
                Classes = classes, Logits = b.F(0), Labels = b.I(0), Weights = b.F(1), WeightSum = w.Sum(), Smoothing = 0.1f,
                Loss = b.F(2), Correct = b.F(3), DLogits = b.F(4), Scale = 0.37f, RowGrad = b.F(5),
            }), [labels]);
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Bias_gradient_overrides_match_the_kernel_bodies(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var cols = dev.LoadKernel<ColumnSumArgs>(GemmKernels.ColumnSum);
        var bias = dev.LoadKernel<ConvBiasGradArgs>(ConvKernels.BackwardBias);
        foreach (var (rows, c) in new[] { (1, 1), (5, 37), (64, 120), (3, 1000) })
        {
            float[] m = OverrideCheck.Values(rows, rows * c), o = OverrideCheck.Values(c, c);
            foreach (float beta in new[] { 0f, 1f })
                OverrideCheck.BitEqual(dev, cols, [m, o], b => cols.Launch(c, new() { Rows = rows, Cols = c, M = b.F(0), Output = b.F(1), Beta = beta }));
        }
        foreach (var (n, k, oh, ow) in new[] { (1, 1, 1, 1), (3, 7, 9, 5), (2, 13, 4, 4) })
        {
            var p = new ConvParams { N = n, C = 1, H = oh, W = ow, K = k, OH = oh, OW = ow, KH = 1, KW = 1, SH = 1, SW = 1, DH = 1, DW = 1, G = 1 }.Prepare();
            float[] dy = OverrideCheck.Values(n * k, n * k * oh * ow), db = OverrideCheck.Values(k, k);
            foreach (float beta in new[] { 0f, 1f })
                OverrideCheck.BitEqual(dev, bias, [dy, db], b => bias.Launch(k, new() { P = p, Dy = b.F(0), Db = b.F(1), Beta = beta }));
        }
    }
}

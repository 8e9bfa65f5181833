using GpuCnn.Kernels.Norm;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>BatchNorm's host overrides give their ILGPU bodies' bits (channel counts with a tail after groups of four).</summary>
public class HostNormOverrideTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void BatchNorm_overrides_match_the_kernel_bodies(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var stats = dev.LoadKernel<BatchNormStatsArgs>(BatchNormKernels.BatchStats);
        var running = dev.LoadKernel<BatchNormRunningStatsArgs>(BatchNormKernels.RunningStats);
        var norm = dev.LoadKernel<BatchNormNormalizeArgs>(BatchNormKernels.Normalize);
        var reduce = dev.LoadKernel<BatchNormReduceArgs>(BatchNormKernels.BackwardReduce);
        var data = dev.LoadKernel<BatchNormDataArgs>(BatchNormKernels.BackwardData);
        foreach (var (n, c, plane) in new[] { (2, 7, 25), (3, 1, 1), (4, 13, 37), (1, 18, 64) })
        {
            var p = new BatchNormParams { N = n, C = c, Plane = plane, Eps = 1e-5f, Momentum = 0.1f }.Prepare();
            int len = n * c * plane;
            float[] x = OverrideCheck.Values(len, len, 3f, false), dy = OverrideCheck.Values(len + 1, len), dx = OverrideCheck.Values(len + 2, len);
            float[] st = OverrideCheck.Values(c, 4 * c, 1f, false).Select(v => v * v + 0.1f).ToArray();
            float[] gamma = OverrideCheck.Values(c + 1, c, 1f, false), shift = OverrideCheck.Values(c + 2, c, 1f, false);
            float[] rm = OverrideCheck.Values(c + 3, c, 1f, false), rv = OverrideCheck.Values(c + 4, c, 1f, false).Select(MathF.Abs).ToArray();
            OverrideCheck.BitEqual(dev, stats, [x, st, rm, rv], b => stats.Launch(c, new() { Geometry = p, X = b.F(0), Stats = b.F(1), RunningMean = b.F(2), RunningVar = b.F(3) }));
            OverrideCheck.BitEqual(dev, running, [st, rm, rv], b => running.Launch(c, new() { Geometry = p, Stats = b.F(0), RunningMean = b.F(1), RunningVar = b.F(2) }));
            OverrideCheck.BitEqual(dev, norm, [x, st, gamma, shift, dx],
                b => norm.Launch(len, new() { Geometry = p, X = b.F(0), Stats = b.F(1), Gamma = b.F(2), Shift = b.F(3), Y = b.F(4) }));
            foreach (float beta in new[] { 0f, 1f })
            {
                OverrideCheck.BitEqual(dev, reduce, [x, dy, st, gamma, shift],
                    b => reduce.Launch(c, new() { Geometry = p, X = b.F(0), Dy = b.F(1), Stats = b.F(2), DGamma = b.F(3), DShift = b.F(4), ParamBeta = beta }));
                foreach (int training in new[] { 0, 1 })
                    OverrideCheck.BitEqual(dev, data, [x, dy, st, gamma, dx], b => data.Launch(len, new()
                    {
                        Geometry = p, X = b.F(0), Dy = b.F(1), Stats = b.F(2), Gamma = b.F(3), Training = training, Dx = b.F(4), Beta = beta,
                    }));
            }
        }
    }
}

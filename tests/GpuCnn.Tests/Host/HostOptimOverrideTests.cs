using GpuCnn.Kernels.Optim;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>The optimiser updates' host overrides give their ILGPU bodies' bits, with the weight-decay bound anywhere.</summary>
public class HostOptimOverrideTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Sgd_override_matches_the_kernel_body(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var k = dev.LoadKernel<SgdArgs>(OptimKernels.Sgd);
        foreach (int n in OverrideCheck.Sizes)
            foreach (int nesterov in new[] { 0, 1 })
                foreach (float wd in new[] { 0f, 5e-4f })
                {
                    float[] p = OverrideCheck.Values(n, n), g = OverrideCheck.Values(n + 1, n), v = OverrideCheck.Values(n + 2, n, 0.1f);
                    int decayEnd = n * 2 / 3 + 1; // inside a vector, so both parts have tails
                    OverrideCheck.BitEqual(dev, k, [p, g, v], b => k.Launch(n, new()
                    {
                        P = b.F(0), G = b.F(1), V = b.F(2), LearningRate = 0.01f, Momentum = 0.9f, WeightDecay = wd,
                        Nesterov = nesterov, DecayEnd = decayEnd,
                    }));
                }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Adam_and_AdamW_overrides_match_the_kernel_bodies(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        foreach (var body in new Action<ILGPU.Index1D, int, int, AdamArgs>[] { OptimKernels.Adam, OptimKernels.AdamW })
        {
            var k = dev.LoadKernel(body);
            foreach (int n in OverrideCheck.Sizes)
            {
                float[] p = OverrideCheck.Values(n, n), g = OverrideCheck.Values(n + 1, n), m = OverrideCheck.Values(n + 2, n, 0.1f);
                float[] v = OverrideCheck.Values(n + 3, n, 0.01f, false).Select(MathF.Abs).ToArray();
                OverrideCheck.BitEqual(dev, k, [p, g, m, v], b => k.Launch(n, new()
                {
                    P = b.F(0), G = b.F(1), M = b.F(2), V = b.F(3), LearningRate = 1e-3f, Beta1 = 0.9f, Beta2 = 0.999f, Eps = 1e-8f,
                    WeightDecay = 0.01f, BiasCorrection1 = 0.271f, BiasCorrection2Sqrt = 0.0549f, DecayEnd = n - 5,
                }));
            }
        }
    }
}

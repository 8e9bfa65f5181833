using GpuCnn.Kernels.Norm;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>
/// The LRN host overrides (<c>HostLrnOverrides</c>) give the bits of their ILGPU bodies: odd and even window sizes,
/// windows wider than the channels, planes longer than one block of positions and no multiple of the vector width,
/// launches of several work items cut mid-channel, and β = 1 accumulation.
/// </summary>
[Collection(HostOverrideCollection.Name)]
public class HostLrnOverrideTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Lrn_overrides_give_the_kernel_bits(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        int seed = 1;
        foreach (var (batch, c, plane, size, alpha) in new[] { (2, 7, 13, 5, 1e-4f), (3, 48, 225, 5, 1e-4f), (2, 3, 5, 4, 0.5f), (1, 2, 70, 7, 0.3f), (2, 1, 9, 1, 1f) })
        {
            var p = new LrnParams { C = c, Plane = plane, Size = size, Alpha = alpha, Beta = 0.75f, K = 2f }.Prepare();
            int n = batch * c * plane;
            string what = $"lrn {batch}x{c}x{plane} size {size}";
            var x = OverrideCheck.Random(n, seed++);
            var dy = OverrideCheck.Random(n, seed++);
            OverrideCheck.Same<LrnForwardArgs>(dev, LrnKernels.Forward, n, new[] { x }, Enumerable.Repeat(float.NaN, n).ToArray(),
                (v, o) => new() { Geometry = p, X = v[0], Y = o }, what + " forward");
            foreach (float beta in new[] { 0f, 1f })
            {
                var dx0 = beta == 0 ? Enumerable.Repeat(float.NaN, n).ToArray() : OverrideCheck.Random(n, seed++);
                var dx = OverrideCheck.Same<LrnBackwardArgs>(dev, LrnKernels.Backward, n, new[] { x, dy }, dx0,
                    (v, o) => new() { Geometry = p, X = v[0], Dy = v[1], Dx = o, Beta = beta }, $"{what} backward beta={beta}");
                Assert.DoesNotContain(dx, float.IsNaN);
            }
        }
    }
}

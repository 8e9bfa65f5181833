using GpuCnn.Kernels.Pool;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>
/// The pooling host overrides (<c>HostPoolOverrides</c>): max, min and average pooling forward and backward give the
/// bits of their ILGPU bodies, with ties (values on a grid, −0 among them), overlapping windows, padding, ceil-mode
/// windows past the input (one of padding only), planes whose width is no multiple of the vector width, launches of
/// several work items cut mid-plane and mid-row, and β = 1 accumulation.
/// </summary>
[Collection(HostOverrideCollection.Name)]
public class HostPoolOverrideTests
{
    /// <summary>Planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW.</summary>
    public static readonly int[][] Geometries =
    {
        new[] { 90, 28, 28, 14, 14, 2, 2, 2, 2, 0, 0 },  // LeNet: several work items, forward and backward
        new[] { 5, 9, 11, 5, 6, 3, 3, 2, 2, 1, 1 },      // ResNet's 3×3 stride-2 overlapping windows with padding
        new[] { 3, 6, 7, 6, 7, 3, 3, 1, 1, 1, 1 },       // stride 1
        new[] { 4, 7, 9, 4, 5, 2, 2, 2, 2, 0, 0 },       // ceil mode: last windows half past the input
        new[] { 2, 5, 5, 3, 3, 2, 2, 3, 3, 1, 1 },       // ceil mode and padding: the last windows hold only padding
        new[] { 3, 13, 13, 6, 6, 3, 2, 2, 2, 0, 1 },     // rectangular window, AlexNet-like overlap
        new[] { 2, 40, 500, 20, 250, 2, 2, 2, 2, 0, 0 }, // planes larger than a work item
        new[] { 7, 10, 10, 5, 5, 2, 2, 2, 2, 0, 0 },     // LeNet's second pooling: odd output width
    };

    static PoolParams Geometry(int[] g) => new PoolParams
    {
        Planes = g[0], H = g[1], W = g[2], OH = g[3], OW = g[4], KH = g[5], KW = g[6], SH = g[7], SW = g[8], PH = g[9], PW = g[10],
    }.Prepare();

    static string Name(int[] g) => string.Join(",", g);

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Select_pooling_overrides_give_the_kernel_bits(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        int seed = 1;
        foreach (var g in Geometries)
        {
            var p = Geometry(g);
            int inputs = p.Planes * p.H * p.W, outputs = p.Planes * p.OH * p.OW;
            var x = OverrideCheck.Random(inputs, seed++, coarse: true);
            var dy = OverrideCheck.Random(outputs, seed++);
            var nanOut = Enumerable.Repeat(float.NaN, outputs).ToArray();
            OverrideCheck.Same<SelectForwardArgs<MaxSelect>>(dev, PoolKernels.SelectForward, outputs, new[] { x }, nanOut,
                (v, o) => new() { Geometry = p, X = v[0], Y = o }, $"max forward {Name(g)}");
            OverrideCheck.Same<SelectForwardArgs<MinSelect>>(dev, PoolKernels.SelectForward, outputs, new[] { x }, nanOut,
                (v, o) => new() { Geometry = p, X = v[0], Y = o }, $"min forward {Name(g)}");
            foreach (float beta in new[] { 0f, 1f })
            {
                var dx0 = beta == 0 ? Enumerable.Repeat(float.NaN, inputs).ToArray() : OverrideCheck.Random(inputs, seed++);
                var dx = OverrideCheck.Same<SelectBackwardArgs<MaxSelect>>(dev, PoolKernels.SelectBackward, inputs, new[] { x, dy }, dx0,
                    (v, o) => new() { Geometry = p, X = v[0], Dy = v[1], Dx = o, Beta = beta }, $"max backward {Name(g)} beta={beta}");
                Assert.DoesNotContain(dx, float.IsNaN);
                OverrideCheck.Same<SelectBackwardArgs<MinSelect>>(dev, PoolKernels.SelectBackward, inputs, new[] { x, dy }, dx0,
                    (v, o) => new() { Geometry = p, X = v[0], Dy = v[1], Dx = o, Beta = beta }, $"min backward {Name(g)} beta={beta}");
            }
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Average_pooling_overrides_give_the_kernel_bits(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        int seed = 50;
        foreach (var g in Geometries)
        {
            var p = Geometry(g);
            int inputs = p.Planes * p.H * p.W, outputs = p.Planes * p.OH * p.OW;
            var x = OverrideCheck.Random(inputs, seed++);
            var dy = OverrideCheck.Random(outputs, seed++);
            OverrideCheck.Same<AvgForwardArgs>(dev, PoolKernels.AvgForward, outputs, new[] { x }, Enumerable.Repeat(float.NaN, outputs).ToArray(),
                (v, o) => new() { Geometry = p, X = v[0], Y = o }, $"avg forward {Name(g)}");
            foreach (float beta in new[] { 0f, 1f })
            {
                var dx0 = beta == 0 ? Enumerable.Repeat(float.NaN, inputs).ToArray() : OverrideCheck.Random(inputs, seed++);
                var dx = OverrideCheck.Same<AvgBackwardArgs>(dev, PoolKernels.AvgBackward, inputs, new[] { dy }, dx0,
                    (v, o) => new() { Geometry = p, Dy = v[0], Dx = o, Beta = beta }, $"avg backward {Name(g)} beta={beta}");
                Assert.DoesNotContain(dx, float.IsNaN);
            }
        }
    }
}

using GpuCnn.Kernels.Conv;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>
/// The convolution lowering's host overrides (<c>HostLoweringOverrides</c>): im2col rows, col2im and the bias
/// gradient give the bits of their ILGPU bodies, on geometries with padding (rows wholly in it too), strides,
/// dilations, groups, rectangular kernels, rows not a multiple of the vector width, launches of several work items cut
/// mid-row, and β = 1 accumulation.
/// </summary>
[Collection(HostOverrideCollection.Name)]
public class HostLoweringOverrideTests
{
    /// <summary>N, C, H, W, K, KH, KW, SH, SW, PH, PW, DH, DW, G.</summary>
    public static readonly int[][] Geometries =
    {
        new[] { 2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1 },
        new[] { 2, 3, 7, 6, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1 },     // stride 2
        new[] { 2, 4, 6, 6, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2 },     // dilation and groups
        new[] { 2, 2, 7, 6, 3, 3, 2, 2, 1, 2, 1, 2, 3, 1 },     // every axis different
        new[] { 1, 2, 5, 37, 2, 3, 5, 1, 1, 0, 2, 1, 1, 1 },    // 37 columns: vector tails
        new[] { 1, 3, 23, 23, 2, 11, 11, 4, 4, 2, 2, 1, 1, 1 }, // AlexNet's conv1
        new[] { 1, 2, 4, 4, 2, 3, 3, 1, 1, 3, 3, 1, 1, 1 },     // padding beyond the kernel: rows of padding only
        new[] { 3, 8, 20, 21, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2 },   // several work items, cut mid-row
        new[] { 2, 2, 9, 10, 2, 2, 3, 3, 2, 0, 1, 1, 2, 1 },    // strides that skip input rows and columns
    };

    static ConvParams Geometry(int[] g)
    {
        var p = new ConvParams
        {
            N = g[0], C = g[1], H = g[2], W = g[3], K = g[4], KH = g[5], KW = g[6], SH = g[7], SW = g[8],
            PH = g[9], PW = g[10], DH = g[11], DW = g[12], G = g[13],
        };
        p.OH = (p.H + 2 * p.PH - p.DH * (p.KH - 1) - 1) / p.SH + 1;
        p.OW = (p.W + 2 * p.PW - p.DW * (p.KW - 1) - 1) / p.SW + 1;
        return p.Prepare();
    }

    static string Name(int[] g) => string.Join(",", g);

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Im2col_rows_override_gives_the_kernel_bits(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        int seed = 1;
        foreach (var g in Geometries)
        {
            var p = Geometry(g);
            int rows = p.Cg * p.KH * p.KW, colLen = p.G * rows * p.N * p.OH * p.OW;
            var x = OverrideCheck.Random(p.N * p.C * p.H * p.W, seed++);
            var col = OverrideCheck.Same<Im2ColArgs>(dev, LoweringKernels.Im2ColRows, p.G * rows * p.N * p.OH,
                new[] { x }, Enumerable.Repeat(float.NaN, colLen).ToArray(), (v, o) => new() { P = p, X = v[0], Col = o }, $"im2col {Name(g)}");
            Assert.DoesNotContain(col, float.IsNaN); // every lowered value written
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Col2im_override_gives_the_kernel_bits(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        int seed = 100;
        foreach (var g in Geometries)
            foreach (float beta in new[] { 0f, 1f, 0.5f })
            {
                var p = Geometry(g);
                int rows = p.Cg * p.KH * p.KW, n = p.N * p.C * p.H * p.W;
                var colGrad = OverrideCheck.Random(p.G * rows * p.N * p.OH * p.OW, seed++);
                var dx0 = beta == 0 ? Enumerable.Repeat(float.NaN, n).ToArray() : OverrideCheck.Random(n, seed++);
                var dx = OverrideCheck.Same<Col2ImArgs>(dev, LoweringKernels.Col2Im, n, new[] { colGrad }, dx0,
                    (v, o) => new() { P = p, ColGrad = v[0], Dx = o, Beta = beta }, $"col2im {Name(g)} beta={beta}");
                Assert.DoesNotContain(dx, float.IsNaN);
            }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Bias_gradient_override_gives_the_kernel_bits(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        foreach (var (n, k, oh, ow) in new[] { (3, 5, 37, 1), (2, 7, 6, 5), (1, 1, 1, 1) })
            foreach (float beta in new[] { 0f, 1f })
            {
                var p = new ConvParams { N = n, C = 1, H = oh, W = ow, K = k, OH = oh, OW = ow, KH = 1, KW = 1, SH = 1, SW = 1, DH = 1, DW = 1, G = 1 }.Prepare();
                var dy = OverrideCheck.Random(n * k * oh * ow, 7 + n);
                var db0 = beta == 0 ? Enumerable.Repeat(float.NaN, k).ToArray() : OverrideCheck.Random(k, 9);
                OverrideCheck.Same<ConvBiasGradArgs>(dev, ConvKernels.BackwardBias, k, new[] { dy }, db0,
                    (v, o) => new() { P = p, Dy = v[0], Db = o, Beta = beta }, $"bias gradient {n}x{k}x{oh}x{ow} beta={beta}");
            }
    }
}

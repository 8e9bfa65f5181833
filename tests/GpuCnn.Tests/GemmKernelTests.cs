using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The GEMM kernel directly, in every transpose combination, with alpha, beta, bias (per column and per row), ReLU and padded leading dimensions.</summary>
public class GemmKernelTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gemm_matches_double_reference(string backend)
    {
        var dev = Backends.Get(backend);
        var gemm = dev.LoadKernel<GemmArgs>(GemmKernels.Gemm);
        var rng = new Random(21);
        const int m = 5, n = 7, k = 9;
        foreach (int ta in new[] { 0, 1 })
        foreach (int tb in new[] { 0, 1 })
        foreach (var biasMode in new[] { BiasMode.None, BiasMode.PerColumn, BiasMode.PerRow })
        foreach (bool relu in new[] { false, true })
        {
            int lda = (ta != 0 ? m : k) + 2, ldb = (tb != 0 ? k : n) + 1, ldc = n + 3;
            var a = GradCheck.RandomFloats(rng, (ta != 0 ? k : m) * lda, 1);
            var b = GradCheck.RandomFloats(rng, (tb != 0 ? n : k) * ldb, 1);
            var c = GradCheck.RandomFloats(rng, m * ldc, 1);
            var bias = GradCheck.RandomFloats(rng, Math.Max(m, n), 1);
            const float alpha = 0.75f, beta = -0.5f;
            var expect = c.Select(v => (double)v).ToArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int q = 0; q < k; q++)
                        acc += (double)(ta != 0 ? a[q * lda + i] : a[i * lda + q]) * (tb != 0 ? b[j * ldb + q] : b[q * ldb + j]);
                    double v = alpha * acc + (biasMode == BiasMode.PerColumn ? bias[j] : biasMode == BiasMode.PerRow ? bias[i] : 0) + beta * c[i * ldc + j];
                    expect[i * ldc + j] = relu ? Math.Max(0, v) : v;
                }
            using var da = dev.Accelerator.Allocate1D(a);
            using var db = dev.Accelerator.Allocate1D(b);
            using var dc = dev.Accelerator.Allocate1D(c);
            using var dbias = dev.Accelerator.Allocate1D(bias);
            var p = new GemmParams { M = m, N = n, K = k, TransA = ta, TransB = tb, Lda = lda, Ldb = ldb, Ldc = ldc, Alpha = alpha, Beta = beta };
            // Launch over every element of C including the padding columns, which the kernel must skip: it only
            // writes rows×N, so cover exactly M·N elements and check the padding is untouched.
            gemm.Launch(m * n, new GemmArgs
            {
                P = p, A = da.View, B = db.View, Bias = biasMode == BiasMode.None ? default : dbias.View, BiasMode = biasMode,
                Activation = relu ? FusedActivation.Relu : default, C = dc.View,
            });
            var got = dc.GetAsArray1D();
            for (int i = 0; i < m; i++)
                for (int j = n; j < ldc; j++) expect[i * ldc + j] = c[i * ldc + j];
            Close.Assert(expect, got, 1e-5, 1e-5, $"gemm transA={ta} transB={tb} bias={biasMode} relu={relu}");
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void ColumnSum_matches_reference(string backend)
    {
        var dev = Backends.Get(backend);
        var k = dev.LoadKernel<ColumnSumArgs>(GemmKernels.ColumnSum);
        var x = GradCheck.RandomFloats(new Random(2), 6 * 11, 1);
        var o = GradCheck.RandomFloats(new Random(3), 11, 1);
        using var dx = dev.Accelerator.Allocate1D(x);
        using var dout = dev.Accelerator.Allocate1D(o);
        k.Launch(11, new() { Rows = 6, Cols = 11, M = dx.View, Output = dout.View, Beta = 1f });
        var expect = Enumerable.Range(0, 11).Select(j => o[j] + Enumerable.Range(0, 6).Sum(i => (double)x[i * 11 + j])).ToArray();
        Close.Assert(expect, dout.GetAsArray1D(), 1e-5, 1e-5, "column sum with beta = 1");
    }
}

using GpuCnn.Kernels.Gemm;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The GEMM kernel directly, in every transpose combination, with alpha, beta, bias and padded leading dimensions.</summary>
public class GemmKernelTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gemm_matches_double_reference(string backend)
    {
        var dev = Backends.Get(backend);
        var gemm = dev.Load<GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(GemmKernels.Gemm);
        var rng = new Random(21);
        const int m = 5, n = 7, k = 9;
        foreach (int ta in new[] { 0, 1 })
        foreach (int tb in new[] { 0, 1 })
        foreach (int epilogue in new[] { 0, 1, 2, 3 }) // bit 1 bias, bit 2 ReLU
        {
            int hasBias = epilogue & 1;
            int lda = (ta != 0 ? m : k) + 2, ldb = (tb != 0 ? k : n) + 1, ldc = n + 3;
            var a = GradCheck.RandomFloats(rng, (ta != 0 ? k : m) * lda, 1);
            var b = GradCheck.RandomFloats(rng, (tb != 0 ? n : k) * ldb, 1);
            var c = GradCheck.RandomFloats(rng, m * ldc, 1);
            var bias = GradCheck.RandomFloats(rng, n, 1);
            const float alpha = 0.75f, beta = -0.5f;
            var expect = c.Select(v => (double)v).ToArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int q = 0; q < k; q++)
                        acc += (double)(ta != 0 ? a[q * lda + i] : a[i * lda + q]) * (tb != 0 ? b[j * ldb + q] : b[q * ldb + j]);
                    double v = alpha * acc + (hasBias != 0 ? bias[j] : 0) + beta * c[i * ldc + j];
                    expect[i * ldc + j] = (epilogue & 2) != 0 ? Math.Max(0, v) : v;
                }
            using var da = dev.Accelerator.Allocate1D(a);
            using var db = dev.Accelerator.Allocate1D(b);
            using var dc = dev.Accelerator.Allocate1D(c);
            using var dbias = dev.Accelerator.Allocate1D(bias);
            var p = new GemmParams { M = m, N = n, K = k, TransA = ta, TransB = tb, Lda = lda, Ldb = ldb, Ldc = ldc, Alpha = alpha, Beta = beta };
            // Launch over every element of C including the padding columns, which the kernel must skip: it only
            // writes rows×N, so cover exactly M·N elements and check the padding is untouched.
            dev.Launch(gemm, m * n, p, da.View, db.View, dbias.View, epilogue, dc.View);
            var got = dc.GetAsArray1D();
            for (int i = 0; i < m; i++)
                for (int j = n; j < ldc; j++) expect[i * ldc + j] = c[i * ldc + j];
            Close.Assert(expect, got, 1e-5, 1e-5, $"gemm transA={ta} transB={tb} epilogue={epilogue}");
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void ColumnSum_matches_reference(string backend)
    {
        var dev = Backends.Get(backend);
        var k = dev.Load<int, int, ArrayView<float>, ArrayView<float>, float>(GemmKernels.ColumnSum);
        var x = GradCheck.RandomFloats(new Random(2), 6 * 11, 1);
        var o = GradCheck.RandomFloats(new Random(3), 11, 1);
        using var dx = dev.Accelerator.Allocate1D(x);
        using var dout = dev.Accelerator.Allocate1D(o);
        dev.Launch(k, 11, 6, 11, dx.View, dout.View, 1f);
        var expect = Enumerable.Range(0, 11).Select(j => o[j] + Enumerable.Range(0, 6).Sum(i => (double)x[i * 11 + j])).ToArray();
        Close.Assert(expect, dout.GetAsArray1D(), 1e-5, 1e-5, "column sum with beta = 1");
    }
}

using ILGPU;

namespace GpuCnn.Kernels.Gemm;

public static partial class TiledGemmKernels
{
    /// <summary>
    /// Sums split-K partials: dst[b·dstBatchStride + m·ld + n] = Σ_s P[s, b, m, n] + beta·dst (beta 0 overwrites).
    /// One output per iteration over n = Batches·M·N elements.
    /// </summary>
    public static void ReduceSplits(Index1D t, int n, int chunk, GemmShape s, ArrayView<float> partial,
        ArrayView<float> dst, int ld, int dstBatchStride, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        int plane = s.M * s.N, stride = s.Batches * plane;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int b = e / plane, r = e - b * plane, m = r / s.N, col = r - m * s.N;
            float acc = 0f;
            for (int sp = 0; sp < s.Splits; sp++) acc += partial[sp * stride + e];
            int i = b * dstBatchStride + m * ld + col;
            dst[i] = beta == 0f ? acc : acc + beta * dst[i];
        }
    }
}

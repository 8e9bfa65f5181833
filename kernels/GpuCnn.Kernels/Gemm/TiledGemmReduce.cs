using ILGPU;

namespace GpuCnn.Kernels.Gemm;

/// <summary>Arguments of <see cref="TiledGemmKernels.ReduceSplits"/>.</summary>
public struct ReduceSplitsArgs
{
    /// <summary>The split product's shape (M, N, Batches, Splits).</summary>
    public GemmShape Shape;
    /// <summary>Partial sums, as <see cref="PartialC"/> stores them.</summary>
    public ArrayView<float> Partial;
    /// <summary>The output.</summary>
    public ArrayView<float> Dst;
    /// <summary>Row stride of the output and distance between its batches.</summary>
    public int Ld, DstBatchStride;
    /// <summary>Scale of the old output; 0 overwrites.</summary>
    public float Beta;
}

public static partial class TiledGemmKernels
{
    /// <summary>
    /// Sums split-K partials: dst[b·DstBatchStride + m·Ld + n] = Σ_s P[s, b, m, n] + beta·dst (beta 0 overwrites).
    /// One output per iteration over n = Batches·M·N elements.
    /// </summary>
    public static void ReduceSplits(Index1D t, int n, int chunk, ReduceSplitsArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var s = a.Shape;
        int plane = s.M * s.N, stride = s.Batches * plane;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int b = e / plane, r = e - b * plane, m = r / s.N, col = r - m * s.N;
            float acc = 0f;
            for (int sp = 0; sp < s.Splits; sp++) acc += a.Partial[sp * stride + e];
            int i = b * a.DstBatchStride + m * a.Ld + col;
            a.Dst[i] = a.Beta == 0f ? acc : acc + a.Beta * a.Dst[i];
        }
    }
}

using ILGPU;

namespace GpuCnn.Kernels.Gemm;

/// <summary>Row-major GEMM geometry: C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] (+ bias[N]) + beta · C.</summary>
public struct GemmParams
{
    /// <summary>Rows of C, columns of C, and the reduction length.</summary>
    public int M, N, K;
    /// <summary>1 when A is stored as K×M (so op(A) = Aᵀ), else 0.</summary>
    public int TransA;
    /// <summary>1 when B is stored as N×K (so op(B) = Bᵀ), else 0.</summary>
    public int TransB;
    /// <summary>Leading dimensions (row strides) of A, B and C as stored.</summary>
    public int Lda, Ldb, Ldc;
    /// <summary>Scale of the product.</summary>
    public float Alpha;
    /// <summary>Scale of the old C; 0 overwrites (old contents, even NaN, are ignored).</summary>
    public float Beta;
}

/// <summary>
/// Matrix products for fully connected layers. A Linear layer with x[B,I], W[O,I] (PyTorch layout), b[O] uses:
/// forward y = x·Wᵀ + b (TransB); data gradient dx = dy·W; filter gradient dW = dyᵀ·x (TransA);
/// bias gradient db[o] = Σ_b dy[b,o] (<see cref="ColumnSum"/>).
/// </summary>
public static class GemmKernels
{
    /// <summary>
    /// One C element per loop iteration. <paramref name="epilogue"/>: bit 1 adds bias[column], bit 2 applies ReLU
    /// last (a fused activation).
    /// </summary>
    public static void Gemm(Index1D t, int n, int chunk, GemmParams p,
        ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, int epilogue, ArrayView<float> c)
    {
        int end = Chunk.End(t, chunk, n);
        // Strides of op(A) along k and m, and of op(B) along k and j, so the inner loop has no branches.
        int aStepK = p.TransA != 0 ? p.Lda : 1, aStepM = p.TransA != 0 ? 1 : p.Lda;
        int bStepK = p.TransB != 0 ? 1 : p.Ldb, bStepJ = p.TransB != 0 ? p.Ldb : 1;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int i = e / p.N, j = e - (e / p.N) * p.N;
            int ai = i * aStepM, bj = j * bStepJ;
            float acc = 0f;
            for (int k = 0; k < p.K; k++)
                acc += a[ai + k * aStepK] * b[bj + k * bStepK];
            float v = p.Alpha * acc;
            if ((epilogue & 1) != 0) v += bias[j];
            int ci = i * p.Ldc + j;
            if (p.Beta != 0f) v += p.Beta * c[ci];
            c[ci] = (epilogue & 2) != 0 && v < 0f ? 0f : v;
        }
    }

    /// <summary>out[j] = beta·out[j] + Σ_i m[i·cols + j] for an rows×cols matrix; one column per iteration.</summary>
    public static void ColumnSum(Index1D t, int n, int chunk, int rows, int cols,
        ArrayView<float> m, ArrayView<float> output, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        for (int j = Chunk.Start(t, chunk); j < end; j++)
        {
            float acc = 0f;
            for (int i = 0; i < rows; i++) acc += m[i * cols + j];
            output[j] = beta == 0f ? acc : beta * output[j] + acc;
        }
    }

    /// <summary>
    /// The epilogue after an external GEMM, in place on a row-major matrix of n elements: bit 1 of
    /// <paramref name="epilogue"/> adds bias[i mod cols], bit 2 applies ReLU.
    /// </summary>
    public static void Epilogue(Index1D t, int n, int chunk, int cols, ArrayView<float> bias, int epilogue, ArrayView<float> c)
    {
        int end = Chunk.End(t, chunk, n);
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            float v = (epilogue & 1) != 0 ? c[e] + bias[e % cols] : c[e];
            c[e] = (epilogue & 2) != 0 && v < 0f ? 0f : v;
        }
    }
}

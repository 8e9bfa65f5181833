using ILGPU;

namespace GpuCnn.Kernels.Gemm;

/// <summary>Row-major GEMM geometry: C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] (+ bias) + beta · C.</summary>
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

/// <summary>Arguments of <see cref="GemmKernels.Gemm"/>: C = act(alpha·op(A)·op(B) + bias + beta·C).</summary>
public struct GemmArgs
{
    /// <summary>Geometry, scales and transposes.</summary>
    public GemmParams P;
    /// <summary>The operands as stored.</summary>
    public ArrayView<float> A, B;
    /// <summary>Bias values, read only when <see cref="BiasMode"/> is not None.</summary>
    public ArrayView<float> Bias;
    /// <summary>bias[n] per column, bias[m] per row, or none.</summary>
    public BiasMode BiasMode;
    /// <summary>Applied last.</summary>
    public FusedActivation Activation;
    /// <summary>The output.</summary>
    public ArrayView<float> C;
}

/// <summary>Arguments of <see cref="GemmKernels.ColumnSum"/>: output[j] = beta·output[j] + Σ_i m[i·Cols + j].</summary>
public struct ColumnSumArgs
{
    /// <summary>Shape of the row-major matrix.</summary>
    public int Rows, Cols;
    /// <summary>The matrix.</summary>
    public ArrayView<float> M;
    /// <summary>Column sums.</summary>
    public ArrayView<float> Output;
    /// <summary>Scale of the old sums; 0 overwrites.</summary>
    public float Beta;
}

/// <summary>Arguments of <see cref="GemmKernels.Epilogue"/>: C = act(C + bias), in place on a dense row-major matrix.</summary>
public struct EpilogueArgs
{
    /// <summary>Columns of C (its row stride).</summary>
    public int Cols;
    /// <summary>Bias values, read only when <see cref="BiasMode"/> is not None.</summary>
    public ArrayView<float> Bias;
    /// <summary>PerColumn adds bias[column]; None adds nothing (a product with a bias per row has no use for this kernel).</summary>
    public BiasMode BiasMode;
    /// <summary>Applied last.</summary>
    public FusedActivation Activation;
    /// <summary>The matrix, updated in place.</summary>
    public ArrayView<float> C;
}

/// <summary>
/// Matrix products for fully connected layers. A Linear layer with x[B,I], W[O,I] (PyTorch layout), b[O] uses:
/// forward y = x·Wᵀ + b (TransB); data gradient dx = dy·W; filter gradient dW = dyᵀ·x (TransA);
/// bias gradient db[o] = Σ_b dy[b,o] (<see cref="ColumnSum"/>).
/// </summary>
public static class GemmKernels
{
    /// <summary>One C element per loop iteration; n = M·N.</summary>
    public static void Gemm(Index1D t, int n, int chunk, GemmArgs g)
    {
        int end = Chunk.End(t, chunk, n);
        var p = g.P;
        // Strides of op(A) along k and m, and of op(B) along k and j, so the inner loop has no branches.
        int aStepK = p.TransA != 0 ? p.Lda : 1, aStepM = p.TransA != 0 ? 1 : p.Lda;
        int bStepK = p.TransB != 0 ? 1 : p.Ldb, bStepJ = p.TransB != 0 ? p.Ldb : 1;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int i = e / p.N, j = e - (e / p.N) * p.N;
            int ai = i * aStepM, bj = j * bStepJ;
            float acc = 0f;
            for (int k = 0; k < p.K; k++)
                acc += g.A[ai + k * aStepK] * g.B[bj + k * bStepK];
            float v = p.Alpha * acc;
            if (g.BiasMode == BiasMode.PerColumn) v += g.Bias[j];
            else if (g.BiasMode == BiasMode.PerRow) v += g.Bias[i];
            int ci = i * p.Ldc + j;
            if (p.Beta != 0f) v += p.Beta * g.C[ci];
            g.C[ci] = g.Activation.Apply(v);
        }
    }

    /// <summary>Column sums of a Rows×Cols matrix; one column per iteration, n = Cols.</summary>
    public static void ColumnSum(Index1D t, int n, int chunk, ColumnSumArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int j = Chunk.Start(t, chunk); j < end; j++)
        {
            float acc = 0f;
            for (int i = 0; i < a.Rows; i++) acc += a.M[i * a.Cols + j];
            a.Output[j] = a.Beta == 0f ? acc : a.Beta * a.Output[j] + acc;
        }
    }

    /// <summary>The epilogue after an external GEMM (cuBLAS), over the n elements of C.</summary>
    public static void Epilogue(Index1D t, int n, int chunk, EpilogueArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            float v = a.BiasMode == BiasMode.PerColumn ? a.C[e] + a.Bias[e % a.Cols] : a.C[e];
            a.C[e] = a.Activation.Apply(v);
        }
    }
}

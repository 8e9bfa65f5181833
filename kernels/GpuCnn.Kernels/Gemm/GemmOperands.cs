using ILGPU;

namespace GpuCnn.Kernels.Gemm;

/// <summary>
/// Shape of a batched, optionally split-K product C[b] = A[b]·B[b] with A M×K and B K×N. Grid z runs over
/// <c>Batches × Splits</c>; split s reduces k in [s·KPerSplit, min(K, (s+1)·KPerSplit)).
/// </summary>
public struct GemmShape
{
    /// <summary>Rows of C, columns of C, reduction length.</summary>
    public int M, N, K;
    /// <summary>Independent products (convolution groups); at least 1.</summary>
    public int Batches;
    /// <summary>Slices of the reduction, each written to its own partial C; at least 1.</summary>
    public int Splits;
    /// <summary>Reduction length per split (a multiple of the tile depth).</summary>
    public int KPerSplit;
}

/// <summary>Reads A(b, m, k) of a tiled GEMM. Implementations are small structs the kernel is specialised on.</summary>
public interface IGemmA
{
    /// <summary>True when consecutive k are adjacent in memory, so the tile loader walks k fastest (coalesced).</summary>
    bool KMajor { get; }
    /// <summary>A(b, m, k); called only for m &lt; M and k &lt; K.</summary>
    float Load(int b, int m, int k);
}

/// <summary>Reads B(b, k, n) of a tiled GEMM.</summary>
public interface IGemmB
{
    /// <summary>True when consecutive k are adjacent in memory (else consecutive n are).</summary>
    bool KMajor { get; }
    /// <summary>B(b, k, n); called only for k &lt; K and n &lt; N.</summary>
    float Load(int b, int k, int n);
}

/// <summary>Consumes finished C(b, m, n) values: scaling, bias, accumulation and the output layout live here.</summary>
public interface IGemmC
{
    /// <summary>Stores the sum over split <paramref name="split"/>'s slice of k; called only for m &lt; M, n &lt; N.</summary>
    void Store(int b, int split, int m, int n, float acc);
}

/// <summary>A row-major matrix per batch: A(b,m,k) = v[b·BatchStride + m·Ld + k], or its transpose when stored K×M.</summary>
public struct DenseA : IGemmA
{
    /// <summary>The data.</summary>
    public ArrayView<float> V;
    /// <summary>Row stride as stored, and the distance between batches.</summary>
    public int Ld, BatchStride;
    /// <summary>1 when stored K×M.</summary>
    public int Trans;
    /// <inheritdoc/>
    public readonly bool KMajor => Trans == 0;
    /// <inheritdoc/>
    public readonly float Load(int b, int m, int k) =>
        V[b * BatchStride + (Trans != 0 ? k * Ld + m : m * Ld + k)];
}

/// <summary>A row-major matrix per batch: B(b,k,n) = v[b·BatchStride + k·Ld + n], or its transpose when stored N×K.</summary>
public struct DenseB : IGemmB
{
    /// <summary>The data.</summary>
    public ArrayView<float> V;
    /// <summary>Row stride as stored, and the distance between batches.</summary>
    public int Ld, BatchStride;
    /// <summary>1 when stored N×K.</summary>
    public int Trans;
    /// <inheritdoc/>
    public readonly bool KMajor => Trans != 0;
    /// <inheritdoc/>
    public readonly float Load(int b, int k, int n) =>
        V[b * BatchStride + (Trans != 0 ? n * Ld + k : k * Ld + n)];
}

/// <summary>
/// Row-major C per batch: C = Alpha·acc + bias + Beta·C, then ReLU when <see cref="Relu"/> is 1. Beta 0 ignores
/// the old value (even NaN). The bias is per column (BiasMode 1) or per row (2).
/// </summary>
public struct DenseC : IGemmC
{
    /// <summary>The output.</summary>
    public ArrayView<float> V;
    /// <summary>Bias values, read only when BiasMode is not 0.</summary>
    public ArrayView<float> Bias;
    /// <summary>Row stride and distance between batches.</summary>
    public int Ld, BatchStride;
    /// <summary>0 none, 1 bias[n], 2 bias[m].</summary>
    public int BiasMode;
    /// <summary>1 applies max(0, ·) last.</summary>
    public int Relu;
    /// <summary>Scales of the product and of the old value.</summary>
    public float Alpha, Beta;
    /// <inheritdoc/>
    public readonly void Store(int b, int split, int m, int n, float acc)
    {
        int i = b * BatchStride + m * Ld + n;
        float v = Alpha * acc;
        if (BiasMode == 1) v += Bias[n];
        else if (BiasMode == 2) v += Bias[m];
        if (Beta != 0f) v += Beta * V[i];
        if (Relu != 0 && v < 0f) v = 0f;
        V[i] = v;
    }
}

/// <summary>Split-K partial sums: P[((split·Batches + b)·M + m)·N + n] = acc, reduced by <see cref="TiledGemmKernels.ReduceSplits"/>.</summary>
public struct PartialC : IGemmC
{
    /// <summary>Scratch of Splits·Batches·M·N values.</summary>
    public ArrayView<float> V;
    /// <summary>The product's M, N and batch count.</summary>
    public int M, N, Batches;
    /// <inheritdoc/>
    public readonly void Store(int b, int split, int m, int n, float acc) =>
        V[((split * Batches + b) * M + m) * N + n] = acc;
}

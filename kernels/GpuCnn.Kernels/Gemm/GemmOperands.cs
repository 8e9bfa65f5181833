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

/// <summary>
/// The one argument of a tiled GEMM kernel (<see cref="TiledGemmKernels"/>): C[b] = A[b]·B[b] over
/// <see cref="Shape"/>, with each operand a small struct the kernel is specialised on.
/// </summary>
public struct TiledGemmArgs<TA, TB, TC> where TA : struct, IGemmA where TB : struct, IGemmB where TC : struct, IGemmC
{
    /// <summary>Reads A(b, m, k).</summary>
    public TA A;
    /// <summary>Reads B(b, k, n).</summary>
    public TB B;
    /// <summary>Consumes finished C(b, m, n) values.</summary>
    public TC C;
    /// <summary>M, N, K, batches and split-K slices.</summary>
    public GemmShape Shape;
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
/// Row-major C per batch: C = act(Alpha·acc + bias + Beta·C). Beta 0 ignores the old value (even NaN).
/// </summary>
public struct DenseC : IGemmC
{
    /// <summary>The output.</summary>
    public ArrayView<float> V;
    /// <summary>Bias values, read only when <see cref="BiasMode"/> is not None.</summary>
    public ArrayView<float> Bias;
    /// <summary>Row stride and distance between batches.</summary>
    public int Ld, BatchStride;
    /// <summary>bias[n] per column, bias[m] per row, or none.</summary>
    public BiasMode BiasMode;
    /// <summary>Applied last.</summary>
    public FusedActivation Activation;
    /// <summary>Scales of the product and of the old value.</summary>
    public float Alpha, Beta;
    /// <inheritdoc/>
    public readonly void Store(int b, int split, int m, int n, float acc)
    {
        int i = b * BatchStride + m * Ld + n;
        float v = Alpha * acc;
        if (BiasMode == BiasMode.PerColumn) v += Bias[n];
        else if (BiasMode == BiasMode.PerRow) v += Bias[m];
        if (Beta != 0f) v += Beta * V[i];
        V[i] = Activation.Apply(v);
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

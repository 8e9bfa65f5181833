using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using ILGPU;

namespace GpuCnn.Devices;

/// <summary>The layer operations that are matrix products.</summary>
public enum GemmOperation
{
    /// <summary>y = x·Wᵀ (+ b): A = x, B = W stored [out, in] (TransB), C = y.</summary>
    LinearForward,
    /// <summary>dx = dy·W: A = dy, B = W, C = dx.</summary>
    LinearDataGrad,
    /// <summary>dW = dyᵀ·x: A = dy (TransA), B = x, C = dW.</summary>
    LinearFilterGrad,
    /// <summary>y[g] = W[g]·im2col(x)[g] (+ b per channel): A = w, B = x, C = y.</summary>
    ConvForward,
    /// <summary>dx[g] = col2im(W[g]ᵀ·dy[g]): A = w, B = dy, C = dx.</summary>
    ConvDataGrad,
    /// <summary>dW[g] = dy[g]·im2col(x)[g]ᵀ: A = dy, B = x, C = dW.</summary>
    ConvFilterGrad,
}

/// <summary>What a product's epilogue does after the multiply-adds, before beta·C is added by the families that add it.</summary>
[Flags]
public enum GemmEpilogue
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>Adds the bias (per output feature for a fully connected layer, per output channel for a convolution).</summary>
    Bias = 1,
    /// <summary>Applies <see cref="GemmProduct.Activation"/> last.</summary>
    Activation = 2,
}

/// <summary>
/// The views a product reads and writes, bound at run time; their roles per operation are listed on
/// <see cref="GemmOperation"/>. C = op(A)·op(B). An unused bias stays default.
/// </summary>
public struct GemmOperands
{
    /// <summary>Left and right factors.</summary>
    public ArrayView<float> A, B;
    /// <summary>Bias values, read only with <see cref="GemmEpilogue.Bias"/>.</summary>
    public ArrayView<float> Bias;
    /// <summary>The output.</summary>
    public ArrayView<float> C;
}

/// <summary>
/// A product a layer asks <see cref="GemmEngine"/> for, apart from any family that computes it: the operation and its
/// geometry, which decide the family (see <see cref="SameChoice"/>), and the epilogue and beta, which do not.
/// Dense products (the Linear operations) are row-major C[M,N] = op(A)[M,K]·op(B)[K,N] + Beta·C with the stored
/// leading dimensions; convolutions are described by <see cref="Conv"/>.
/// </summary>
public readonly struct GemmProduct
{
    /// <summary>Which product.</summary>
    public GemmOperation Operation { get; init; }
    /// <summary>Dense: rows of C, columns of C and the reduction length.</summary>
    public int M { get; init; }
    /// <inheritdoc cref="M"/>
    public int N { get; init; }
    /// <inheritdoc cref="M"/>
    public int K { get; init; }
    /// <summary>Dense: A is stored K×M (op(A) = Aᵀ).</summary>
    public bool TransA { get; init; }
    /// <summary>Dense: B is stored N×K (op(B) = Bᵀ).</summary>
    public bool TransB { get; init; }
    /// <summary>Dense: row strides of A, B and C as stored.</summary>
    public int Lda { get; init; }
    /// <inheritdoc cref="Lda"/>
    public int Ldb { get; init; }
    /// <inheritdoc cref="Lda"/>
    public int Ldc { get; init; }
    /// <summary>Convolutions: the prepared geometry (<see cref="ConvParams.Prepare"/>).</summary>
    public ConvParams Conv { get; init; }
    /// <summary>Convolutions: a 1×1, stride-1, unpadded, undilated convolution, which the families run without lowering.</summary>
    public bool Pointwise { get; init; }
    /// <summary>Convolutions: values of the im2col matrix the blocked family lowers at most per step (images go in chunks).</summary>
    public long ColumnBudget { get; init; }
    /// <summary>What the epilogue does.</summary>
    public GemmEpilogue Epilogue { get; init; }
    /// <summary>The activation applied last, with <see cref="GemmEpilogue.Activation"/>.</summary>
    public FusedActivation Activation { get; init; }
    /// <summary>Scale of the old C: 0 overwrites, 1 accumulates.</summary>
    public float Beta { get; init; }
    /// <summary>Who asks (a layer's name), for error messages.</summary>
    public string? Owner { get; init; }

    /// <summary>A dense product of the Linear operations.</summary>
    public static GemmProduct Dense(GemmOperation op, int m, int n, int k, bool transA, bool transB, int lda, int ldb, int ldc) =>
        new() { Operation = op, M = m, N = n, K = k, TransA = transA, TransB = transB, Lda = lda, Ldb = ldb, Ldc = ldc };

    /// <summary>A convolution product over prepared geometry <paramref name="p"/>.</summary>
    public static GemmProduct Convolution(GemmOperation op, ConvParams p, bool pointwise, long columnBudget) =>
        new() { Operation = op, Conv = p, Pointwise = pointwise, ColumnBudget = columnBudget };

    /// <summary>True for the convolution operations.</summary>
    public bool IsConv => Operation >= GemmOperation.ConvForward;

    /// <summary>True when the epilogue adds the bias.</summary>
    public bool HasBias => (Epilogue & GemmEpilogue.Bias) != 0;

    /// <summary>The activation the epilogue applies (disabled without <see cref="GemmEpilogue.Activation"/>).</summary>
    public FusedActivation AppliedActivation => (Epilogue & GemmEpilogue.Activation) != 0 ? Activation : default;

    /// <summary>Dense: the geometry as the dense kernels take it (alpha 1, this product's beta).</summary>
    public GemmParams DenseParams => new()
    {
        M = M, N = N, K = K, TransA = TransA ? 1 : 0, TransB = TransB ? 1 : 0, Lda = Lda, Ldb = Ldb, Ldc = Ldc, Alpha = 1, Beta = Beta,
    };

    /// <summary>Multiply-adds of the product (the same for the three products of one convolution).</summary>
    public long MultiplyAdds
    {
        get
        {
            var p = Conv;
            return IsConv ? (long)p.N * p.K * p.OH * p.OW * p.Cg * p.KH * p.KW : (long)M * N * K;
        }
    }

    /// <summary>Values of C, the scratch output a timing run writes.</summary>
    public long OutputLength
    {
        get
        {
            var p = Conv;
            return Operation switch
            {
                GemmOperation.ConvForward => (long)p.N * p.K * p.OH * p.OW,
                GemmOperation.ConvDataGrad => (long)p.N * p.C * p.H * p.W,
                GemmOperation.ConvFilterGrad => (long)p.K * p.Cg * p.KH * p.KW,
                _ => (long)M * Ldc,
            };
        }
    }

    /// <summary>The product as a choice key, e.g. <c>linear.Forward batch=64 in=400 out=120</c>.</summary>
    public override string ToString()
    {
        var p = Conv;
        return Operation switch
        {
            GemmOperation.LinearForward => $"linear.Forward batch={M} in={K} out={N}",
            GemmOperation.LinearFilterGrad => $"linear.FilterGrad batch={K} in={N} out={M}",
            GemmOperation.LinearDataGrad => $"linear.DataGrad batch={M} in={N} out={K}",
            _ => $"conv.{Operation.ToString()[4..]} n={p.N} c={p.C} {p.H}x{p.W} k={p.K} {p.KH}x{p.KW} s={p.SH},{p.SW} " +
                 $"p={p.PH},{p.PW} d={p.DH},{p.DW} g={p.G} out={p.OH}x{p.OW}",
        };
    }

    /// <summary>
    /// Compares products by what decides their family: the operation and its geometry. The epilogue, beta, the
    /// lowering budget and the views do not (a family's speed hardly depends on them), so a layer's products keep one
    /// family whether they accumulate or not.
    /// </summary>
    public static IEqualityComparer<GemmProduct> SameChoice { get; } = new ChoiceComparer();

    sealed class ChoiceComparer : IEqualityComparer<GemmProduct>
    {
        public bool Equals(GemmProduct x, GemmProduct y)
        {
            if (x.Operation != y.Operation) return false;
            if (!x.IsConv)
                return x.M == y.M && x.N == y.N && x.K == y.K && x.TransA == y.TransA && x.TransB == y.TransB
                    && x.Lda == y.Lda && x.Ldb == y.Ldb && x.Ldc == y.Ldc;
            ConvParams a = x.Conv, b = y.Conv;
            return x.Pointwise == y.Pointwise && a.N == b.N && a.C == b.C && a.H == b.H && a.W == b.W && a.K == b.K
                && a.OH == b.OH && a.OW == b.OW && a.KH == b.KH && a.KW == b.KW && a.SH == b.SH && a.SW == b.SW
                && a.PH == b.PH && a.PW == b.PW && a.DH == b.DH && a.DW == b.DW && a.G == b.G;
        }

        public int GetHashCode(GemmProduct x)
        {
            if (!x.IsConv) return HashCode.Combine(x.Operation, x.M, x.N, x.K, x.TransA, x.TransB, HashCode.Combine(x.Lda, x.Ldb, x.Ldc));
            var p = x.Conv;
            return HashCode.Combine(x.Operation, HashCode.Combine(p.N, p.C, p.H, p.W, p.K, p.OH, p.OW),
                HashCode.Combine(p.KH, p.KW, p.SH, p.SW, p.PH, p.PW, p.DH, p.DW), p.G, x.Pointwise);
        }
    }
}

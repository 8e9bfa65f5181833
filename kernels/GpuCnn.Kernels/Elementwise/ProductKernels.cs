using ILGPU;

namespace GpuCnn.Kernels.Elementwise;

/// <summary>Arguments of <see cref="ProductKernels.Forward"/> and <see cref="ProductKernels.Backward"/>.</summary>
public struct ProductArgs
{
    /// <summary>Forward: the factors; backward: A is the output gradient dy and B the other factor.</summary>
    public ArrayView<float> A, B;
    /// <summary>Forward: the product; backward: the input gradient.</summary>
    public ArrayView<float> Y;
    /// <summary>Backward: 0 overwrites the input gradient, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>
/// The element-wise product of two tensors, y = a ⊙ b, forward and backward: da = dy ⊙ b and db = dy ⊙ a, each one
/// launch of <see cref="Backward"/> (dx = β·dx + dy ⊙ other).
/// </summary>
public static class ProductKernels
{
    /// <summary>y = a ⊙ b.</summary>
    public static void Forward(Index1D t, int n, int chunk, ProductArgs p)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++) p.Y[i] = p.A[i] * p.B[i];
    }

    /// <summary>dx = β·dx + dy ⊙ other (A = dy, B = other, Y = dx).</summary>
    public static void Backward(Index1D t, int n, int chunk, ProductArgs p)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
            p.Y[i] = p.Beta == 0f ? p.A[i] * p.B[i] : p.Beta * p.Y[i] + p.A[i] * p.B[i];
    }
}

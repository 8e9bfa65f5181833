using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Elementwise;

/// <summary>
/// A pointwise activation y = f(x) with its derivative. Backward receives both x and y so that each op can use
/// whichever is cheaper (tanh and sigmoid use y, ReLU uses x).
/// </summary>
public interface IUnaryOp
{
    /// <summary>y = f(x).</summary>
    float Forward(float x);
    /// <summary>dL/dx = dL/dy · f'(x).</summary>
    float Backward(float x, float y, float dy);
}

/// <summary>ReLU: y = max(x, 0); dx = dy · [x &gt; 0].</summary>
public readonly struct ReluOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Forward(float x) => x > 0f ? x : 0f;
    /// <inheritdoc/>
    public float Backward(float x, float y, float dy) => x > 0f ? dy : 0f;
}

/// <summary>Tanh: y = tanh(x); dx = dy · (1 − y²).</summary>
public readonly struct TanhOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Forward(float x) => XMath.Tanh(x);
    /// <inheritdoc/>
    public float Backward(float x, float y, float dy) => dy * (1f - y * y);
}

/// <summary>Sigmoid: y = 1 / (1 + e^−x); dx = dy · y · (1 − y).</summary>
public readonly struct SigmoidOp : IUnaryOp
{
    /// <inheritdoc/>
    public float Forward(float x) => 1f / (1f + XMath.Exp(-x));
    /// <inheritdoc/>
    public float Backward(float x, float y, float dy) => dy * y * (1f - y);
}

/// <summary>Generic pointwise kernels; one kernel body serves every <see cref="IUnaryOp"/>.</summary>
public static class ElementwiseKernels
{
    /// <summary>y[i] = TOp.Forward(x[i]).</summary>
    public static void UnaryForward<TOp>(Index1D t, int n, int chunk, ArrayView<float> x, ArrayView<float> y)
        where TOp : struct, IUnaryOp
    {
        TOp op = default;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++) y[i] = op.Forward(x[i]);
    }

    /// <summary>dx[i] = beta·dx[i] + TOp.Backward(x[i], y[i], dy[i]).</summary>
    public static void UnaryBackward<TOp>(Index1D t, int n, int chunk, ArrayView<float> x, ArrayView<float> y,
        ArrayView<float> dy, ArrayView<float> dx, float beta)
        where TOp : struct, IUnaryOp
    {
        TOp op = default;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float g = op.Backward(x[i], y[i], dy[i]);
            dx[i] = beta == 0f ? g : beta * dx[i] + g;
        }
    }

    /// <summary>y[i] = value.</summary>
    public static void Fill(Index1D t, int n, int chunk, ArrayView<float> y, float value)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++) y[i] = value;
    }

    /// <summary>y[i] = beta·y[i] + alpha·x[i] (copy when alpha = 1, beta = 0; gradient accumulation when beta = 1).</summary>
    public static void Axpby(Index1D t, int n, int chunk, ArrayView<float> x, ArrayView<float> y, float alpha, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
            y[i] = beta == 0f ? alpha * x[i] : alpha * x[i] + beta * y[i];
    }
}

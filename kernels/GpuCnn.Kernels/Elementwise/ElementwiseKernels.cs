using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Elementwise;

/// <summary>
/// A pointwise activation y = f(x) with its derivative, passed to the kernels as a value so that it can carry
/// parameters (a slope, an α). Backward receives both x and y so that each op can use whichever is cheaper (tanh and
/// sigmoid use y, ReLU uses x).
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

/// <summary>LeakyReLU: y = x &gt; 0 ? x : slope·x; dx = x &gt; 0 ? dy : slope·dy.</summary>
public struct LeakyReluOp : IUnaryOp
{
    /// <summary>Slope for x ≤ 0.</summary>
    public float Slope;
    /// <inheritdoc/>
    public readonly float Forward(float x) => x > 0f ? x : Slope * x;
    /// <inheritdoc/>
    public readonly float Backward(float x, float y, float dy) => x > 0f ? dy : Slope * dy;
}

/// <summary>
/// ELU: y = x &gt; 0 ? x : α(eˣ − 1); dx = x &gt; 0 ? dy : dy·(y + α). The derivative α·eˣ is taken from y, so it stays
/// right when x aliases y (the fused in-place backward).
/// </summary>
public struct EluOp : IUnaryOp
{
    /// <summary>Scale α of the negative part.</summary>
    public float Alpha;
    /// <inheritdoc/>
    public readonly float Forward(float x) => x > 0f ? x : Alpha * (XMath.Exp(x) - 1f);
    /// <inheritdoc/>
    public readonly float Backward(float x, float y, float dy) => x > 0f ? dy : dy * (y + Alpha);
}

/// <summary>Arguments of <see cref="ElementwiseKernels.UnaryForward{TOp}"/>: y = op(x).</summary>
public struct UnaryForwardArgs<TOp> where TOp : struct, IUnaryOp
{
    /// <summary>The op, with its parameters.</summary>
    public TOp Op;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
}

/// <summary>Arguments of <see cref="ElementwiseKernels.UnaryBackward{TOp}"/>: dx = beta·dx + op′(x, y)·dy.</summary>
public struct UnaryBackwardArgs<TOp> where TOp : struct, IUnaryOp
{
    /// <summary>The op, with its parameters.</summary>
    public TOp Op;
    /// <summary>Forward input (may alias <see cref="Y"/> when the activation ran fused in place).</summary>
    public ArrayView<float> X;
    /// <summary>Forward output.</summary>
    public ArrayView<float> Y;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Input gradient (may alias <see cref="Dy"/>).</summary>
    public ArrayView<float> Dx;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>Arguments of <see cref="ElementwiseKernels.Fill"/>.</summary>
public struct FillArgs
{
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
    /// <summary>The value written.</summary>
    public float Value;
}

/// <summary>Arguments of <see cref="ElementwiseKernels.Axpby"/>: y = beta·y + alpha·x.</summary>
public struct AxpbyArgs
{
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output (and addend when beta ≠ 0).</summary>
    public ArrayView<float> Y;
    /// <summary>Scale of x.</summary>
    public float Alpha;
    /// <summary>Scale of the old y; 0 ignores it (even NaN).</summary>
    public float Beta;
}

/// <summary>Generic pointwise kernels; one kernel body serves every <see cref="IUnaryOp"/>.</summary>
public static class ElementwiseKernels
{
    /// <summary>y[i] = op.Forward(x[i]).</summary>
    public static void UnaryForward<TOp>(Index1D t, int n, int chunk, UnaryForwardArgs<TOp> a)
        where TOp : struct, IUnaryOp
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++) a.Y[i] = a.Op.Forward(a.X[i]);
    }

    /// <summary>dx[i] = beta·dx[i] + op.Backward(x[i], y[i], dy[i]).</summary>
    public static void UnaryBackward<TOp>(Index1D t, int n, int chunk, UnaryBackwardArgs<TOp> a)
        where TOp : struct, IUnaryOp
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float g = a.Op.Backward(a.X[i], a.Y[i], a.Dy[i]);
            a.Dx[i] = a.Beta == 0f ? g : a.Beta * a.Dx[i] + g;
        }
    }

    /// <summary>y[i] = value.</summary>
    public static void Fill(Index1D t, int n, int chunk, FillArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++) a.Y[i] = a.Value;
    }

    /// <summary>y[i] = beta·y[i] + alpha·x[i] (copy when alpha = 1, beta = 0; gradient accumulation when beta = 1).</summary>
    public static void Axpby(Index1D t, int n, int chunk, AxpbyArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
            a.Y[i] = a.Beta == 0f ? a.Alpha * a.X[i] : a.Alpha * a.X[i] + a.Beta * a.Y[i];
    }
}

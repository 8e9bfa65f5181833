using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Loss;

/// <summary>An element-wise loss l(x, y) of a prediction x against a target y, and ∂l/∂x.</summary>
public interface IPointwiseLoss
{
    /// <summary>l(x, y).</summary>
    float Loss(float x, float y);
    /// <summary>∂l/∂x.</summary>
    float Grad(float x, float y);
}

/// <summary>Squared error: l = (x − y)²; ∂l/∂x = 2(x − y).</summary>
public struct MseOp : IPointwiseLoss
{
    /// <inheritdoc/>
    public readonly float Loss(float x, float y) => (x - y) * (x - y);
    /// <inheritdoc/>
    public readonly float Grad(float x, float y) => 2f * (x - y);
}

/// <summary>Absolute error: l = |x − y|; ∂l/∂x = sign(x − y), 0 where x = y (as PyTorch).</summary>
public struct L1Op : IPointwiseLoss
{
    /// <inheritdoc/>
    public readonly float Loss(float x, float y) => XMath.Abs(x - y);
    /// <inheritdoc/>
    public readonly float Grad(float x, float y) => x > y ? 1f : x < y ? -1f : 0f;
}

/// <summary>
/// Binary cross-entropy on a logit: l = max(x, 0) − x·y + log(1 + e^−|x|), the overflow-free form of
/// −y·log σ(x) − (1 − y)·log(1 − σ(x)); ∂l/∂x = σ(x) − y.
/// </summary>
public struct BceWithLogitsOp : IPointwiseLoss
{
    /// <inheritdoc/>
    public readonly float Loss(float x, float y) => XMath.Max(x, 0f) - x * y + XMath.Log(1f + XMath.Exp(-XMath.Abs(x)));
    /// <inheritdoc/>
    public readonly float Grad(float x, float y) => 1f / (1f + XMath.Exp(-x)) - y;
}

/// <summary>The value itself: l = x, ∂l/∂x = 1 (a loss whose elements a graph computed; y is not read).</summary>
public struct ValueOp : IPointwiseLoss
{
    /// <inheritdoc/>
    public readonly float Loss(float x, float y) => x;
    /// <inheritdoc/>
    public readonly float Grad(float x, float y) => 1f;
}

/// <summary>Arguments of <see cref="PointwiseLossKernels.Rows{TOp}"/> (one row of the batch per element of n).</summary>
public struct PointwiseLossArgs<TOp> where TOp : struct, IPointwiseLoss
{
    /// <summary>The loss.</summary>
    public TOp Op;
    /// <summary>Values per row.</summary>
    public int PerRow;
    /// <summary>Predictions x[B, PerRow].</summary>
    public ArrayView<float> X;
    /// <summary>Targets y[B, PerRow].</summary>
    public ArrayView<float> Y;
    /// <summary>Per-row loss, Σ_j l · RowScale (written).</summary>
    public ArrayView<float> RowLoss;
    /// <summary>Gradient ∂L/∂x = GradScale · ∂l/∂x (written).</summary>
    public ArrayView<float> Dx;
    /// <summary>Scale of each row's sum (1 / PerRow for a mean).</summary>
    public float RowScale;
    /// <summary>Scale of the gradient (1 / (B·PerRow) for a mean).</summary>
    public float GradScale;
    /// <summary>Upstream gradient per row (ones unless the reduction is none): row b's gradient is scaled by RowGrad[b].</summary>
    public ArrayView<float> RowGrad;
}

/// <summary>
/// Element-wise losses, forward and backward in one pass over each row: the row's loss (summed, then scaled) and the
/// gradient of the reduced loss. A mean reduction divides by every element of the batch, as PyTorch's.
/// </summary>
public static class PointwiseLossKernels
{
    /// <summary>Writes the per-row losses and the predictions' gradient.</summary>
    public static void Rows<TOp>(Index1D t, int n, int chunk, PointwiseLossArgs<TOp> a) where TOp : struct, IPointwiseLoss
    {
        int end = Chunk.End(t, chunk, n);
        for (int b = Chunk.Start(t, chunk); b < end; b++)
        {
            float sum = 0f;
            float scale = a.GradScale * a.RowGrad[b];
            for (int j = b * a.PerRow, stop = j + a.PerRow; j < stop; j++)
            {
                float x = a.X[j], y = a.Y[j];
                sum += a.Op.Loss(x, y);
                a.Dx[j] = scale * a.Op.Grad(x, y);
            }
            a.RowLoss[b] = sum * a.RowScale;
        }
    }
}

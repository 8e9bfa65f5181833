using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Optim;

/// <summary>Arguments of <see cref="ClipKernels.SumSquares"/>: partial sums of squares of the first Length gradients.</summary>
public struct SumSquaresArgs
{
    /// <summary>The gradients.</summary>
    public ArrayView<float> G;
    /// <summary>Gradients to include (the trainable prefix).</summary>
    public int Length;
    /// <summary>One partial sum per slot.</summary>
    public ArrayView<float> Partials;
}

/// <summary>Arguments of <see cref="ClipKernels.ClipFactor"/>.</summary>
public struct ClipFactorArgs
{
    /// <summary>The partial sums of <see cref="ClipKernels.SumSquares"/>.</summary>
    public ArrayView<float> Partials;
    /// <summary>Out: [0] the global L2 norm, [1] the factor min(1, MaxNorm / (norm + 1e-6)).</summary>
    public ArrayView<float> NormAndFactor;
    /// <summary>The largest norm allowed.</summary>
    public float MaxNorm;
}

/// <summary>Arguments of <see cref="ClipKernels.ScaleBy"/>: g[i] *= factor[1].</summary>
public struct ScaleByArgs
{
    /// <summary>The gradients, scaled in place.</summary>
    public ArrayView<float> G;
    /// <summary>[1] holds the factor (as written by <see cref="ClipKernels.ClipFactor"/>).</summary>
    public ArrayView<float> NormAndFactor;
}

/// <summary>
/// Gradient clipping by the global L2 norm, as <c>torch.nn.utils.clip_grad_norm_</c>: the norm and the factor stay on
/// the device (no host synchronisation); a non-finite norm gives a non-finite factor, as in PyTorch.
/// </summary>
public static class ClipKernels
{
    /// <summary>Partials[p] = Σ g[i]² over i ≡ p (mod slots), one slot per element of n.</summary>
    public static void SumSquares(Index1D t, int n, int chunk, SumSquaresArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int p = Chunk.Start(t, chunk); p < end; p++)
        {
            float s = 0f;
            for (int i = p; i < a.Length; i += n) s += a.G[i] * a.G[i];
            a.Partials[p] = s;
        }
    }

    /// <summary>One thread: sums the partials, writes the norm and the clip factor.</summary>
    public static void ClipFactor(Index1D t, int n, int chunk, ClipFactorArgs a)
    {
        if (t.X != 0) return;
        float s = 0f;
        for (int p = 0; p < a.Partials.IntLength; p++) s += a.Partials[p];
        float norm = XMath.Sqrt(s);
        a.NormAndFactor[0] = norm;
        float factor = a.MaxNorm / (norm + 1e-6f);
        a.NormAndFactor[1] = factor < 1f ? factor : (factor >= 1f ? 1f : factor); // NaN stays NaN
    }

    /// <summary>g[i] *= factor.</summary>
    public static void ScaleBy(Index1D t, int n, int chunk, ScaleByArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        float f = a.NormAndFactor[1];
        for (int i = Chunk.Start(t, chunk); i < end; i++) a.G[i] *= f;
    }
}

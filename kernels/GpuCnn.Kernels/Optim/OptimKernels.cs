using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Optim;

/// <summary>
/// Optimiser updates over all parameters stored flat, so one launch steps the whole model.
/// SGD with momentum μ, weight decay λ and learning rate η (PyTorch semantics, dampening 0):
/// g ← g + λ·p;  v ← μ·v + g;  p ← p − η·(nesterov ? g + μ·v : v).
/// Adam and AdamW (PyTorch semantics) at step t with moments m, v: see <see cref="Adam"/> and <see cref="AdamW"/>.
/// Weight decay applies to elements below <c>decayEnd</c>: parameter stores put weights first and biases and
/// normalisation parameters last, so one bound exempts them.
/// </summary>
public static class OptimKernels
{
    /// <summary>One SGD step; <paramref name="nesterov"/> is 0 or 1.</summary>
    public static void Sgd(Index1D t, int n, int chunk, ArrayView<float> p, ArrayView<float> g, ArrayView<float> v,
        float lr, float momentum, float weightDecay, int nesterov, int decayEnd)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float gi = i < decayEnd ? g[i] + weightDecay * p[i] : g[i];
            float vi = momentum * v[i] + gi;
            v[i] = vi;
            p[i] -= lr * (nesterov != 0 ? gi + momentum * vi : vi);
        }
    }
    /// <summary>
    /// One Adam step (<c>torch.optim.Adam</c>, L2 weight decay folded into the gradient), with
    /// c1 = 1 − β1^t and c2 = 1 − β2^t from <paramref name="h"/>:
    /// g ← g + λ·p (decayed elements only);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
    /// p ← p − η·(m / c1) / (√v / √c2 + ε).
    /// </summary>
    public static void Adam(Index1D t, int n, int chunk, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m,
        ArrayView<float> v, AdamParams h)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float gi = i < h.DecayEnd ? g[i] + h.WeightDecay * p[i] : g[i];
            p[i] = AdamUpdate(i, p[i], gi, m, v, h);
        }
    }

    /// <summary>
    /// One AdamW step (<c>torch.optim.AdamW</c>, decoupled weight decay), with c1 = 1 − β1^t and c2 = 1 − β2^t:
    /// p ← p − η·λ·p (decayed elements only);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
    /// p ← p − η·(m / c1) / (√v / √c2 + ε).
    /// </summary>
    public static void AdamW(Index1D t, int n, int chunk, ArrayView<float> p, ArrayView<float> g, ArrayView<float> m,
        ArrayView<float> v, AdamParams h)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float pi = i < h.DecayEnd ? p[i] * (1f - h.LearningRate * h.WeightDecay) : p[i];
            p[i] = AdamUpdate(i, pi, g[i], m, v, h);
        }
    }

    /// <summary>Updates the moments of element <paramref name="i"/> with gradient <paramref name="gi"/> and returns the stepped parameter.</summary>
    static float AdamUpdate(int i, float pi, float gi, ArrayView<float> m, ArrayView<float> v, AdamParams h)
    {
        float mi = h.Beta1 * m[i] + (1f - h.Beta1) * gi;
        float vi = h.Beta2 * v[i] + (1f - h.Beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = XMath.Sqrt(vi) / h.BiasCorrection2Sqrt + h.Eps;
        return pi - h.LearningRate * (mi / h.BiasCorrection1) / denom;
    }
}

using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Optim;

/// <summary>Arguments of <see cref="OptimKernels.Sgd"/>.</summary>
public struct SgdArgs
{
    /// <summary>Parameters p, updated.</summary>
    public ArrayView<float> P;
    /// <summary>Gradients g.</summary>
    public ArrayView<float> G;
    /// <summary>Velocity v, updated.</summary>
    public ArrayView<float> V;
    /// <summary>Learning rate η.</summary>
    public float LearningRate;
    /// <summary>Momentum μ.</summary>
    public float Momentum;
    /// <summary>Weight decay λ.</summary>
    public float WeightDecay;
    /// <summary>1 for Nesterov momentum, 0 for plain.</summary>
    public int Nesterov;
    /// <summary>Weight decay applies to elements below this index only (weights first, biases last).</summary>
    public int DecayEnd;
}

/// <summary>
/// Arguments of one Adam or AdamW step (<see cref="OptimKernels.Adam"/>, <see cref="OptimKernels.AdamW"/>): the
/// views of one device slice and the step's hyper-parameters. The bias corrections are computed on the host (in
/// double) per step.
/// </summary>
public struct AdamArgs
{
    /// <summary>Parameters p, updated.</summary>
    public ArrayView<float> P;
    /// <summary>Gradients g.</summary>
    public ArrayView<float> G;
    /// <summary>First moments m, updated.</summary>
    public ArrayView<float> M;
    /// <summary>Second moments v, updated.</summary>
    public ArrayView<float> V;
    /// <summary>Learning rate η.</summary>
    public float LearningRate;
    /// <summary>Decay rate β1 of the first moment.</summary>
    public float Beta1;
    /// <summary>Decay rate β2 of the second moment.</summary>
    public float Beta2;
    /// <summary>Term ε added to the denominator.</summary>
    public float Eps;
    /// <summary>Weight decay λ: L2 in the gradient for Adam, decoupled for AdamW.</summary>
    public float WeightDecay;
    /// <summary>First-moment bias correction 1 − β1^t for step t (1-based).</summary>
    public float BiasCorrection1;
    /// <summary>Square root of the second-moment bias correction, √(1 − β2^t).</summary>
    public float BiasCorrection2Sqrt;
    /// <summary>Weight decay applies to elements below this index only (weights first, biases last).</summary>
    public int DecayEnd;
}

/// <summary>
/// Optimiser updates over all parameters stored flat, so one launch steps the whole model.
/// SGD with momentum μ, weight decay λ and learning rate η (PyTorch semantics, dampening 0):
/// g ← g + λ·p;  v ← μ·v + g;  p ← p − η·(nesterov ? g + μ·v : v).
/// Adam and AdamW (PyTorch semantics) at step t with moments m, v: see <see cref="Adam"/> and <see cref="AdamW"/>.
/// Weight decay applies to elements below <c>DecayEnd</c>: parameter stores put weights first and biases and
/// normalisation parameters last, so one bound exempts them.
/// </summary>
public static class OptimKernels
{
    /// <summary>One SGD step.</summary>
    public static void Sgd(Index1D t, int n, int chunk, SgdArgs a)
    {
        var p = a.P;
        var g = a.G;
        var v = a.V;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float gi = i < a.DecayEnd ? g[i] + a.WeightDecay * p[i] : g[i];
            float vi = a.Momentum * v[i] + gi;
            v[i] = vi;
            p[i] -= a.LearningRate * (a.Nesterov != 0 ? gi + a.Momentum * vi : vi);
        }
    }

    /// <summary>
    /// One Adam step (<c>torch.optim.Adam</c>, L2 weight decay folded into the gradient), with
    /// c1 = 1 − β1^t and c2 = 1 − β2^t:
    /// g ← g + λ·p (decayed elements only);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
    /// p ← p − η·(m / c1) / (√v / √c2 + ε).
    /// </summary>
    public static void Adam(Index1D t, int n, int chunk, AdamArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float gi = i < a.DecayEnd ? a.G[i] + a.WeightDecay * a.P[i] : a.G[i];
            a.P[i] = AdamUpdate(i, a.P[i], gi, a);
        }
    }

    /// <summary>
    /// One AdamW step (<c>torch.optim.AdamW</c>, decoupled weight decay), with c1 = 1 − β1^t and c2 = 1 − β2^t:
    /// p ← p − η·λ·p (decayed elements only);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;
    /// p ← p − η·(m / c1) / (√v / √c2 + ε).
    /// </summary>
    public static void AdamW(Index1D t, int n, int chunk, AdamArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float pi = i < a.DecayEnd ? a.P[i] * (1f - a.LearningRate * a.WeightDecay) : a.P[i];
            a.P[i] = AdamUpdate(i, pi, a.G[i], a);
        }
    }

    /// <summary>Updates the moments of element <paramref name="i"/> with gradient <paramref name="gi"/> and returns the stepped parameter.</summary>
    static float AdamUpdate(int i, float pi, float gi, AdamArgs a)
    {
        float mi = a.Beta1 * a.M[i] + (1f - a.Beta1) * gi;
        float vi = a.Beta2 * a.V[i] + (1f - a.Beta2) * gi * gi;
        a.M[i] = mi;
        a.V[i] = vi;
        float denom = XMath.Sqrt(vi) / a.BiasCorrection2Sqrt + a.Eps;
        return pi - a.LearningRate * (mi / a.BiasCorrection1) / denom;
    }
}

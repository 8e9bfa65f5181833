using ILGPU;

namespace GpuCnn.Kernels.Optim;

/// <summary>
/// Optimiser updates over all parameters stored flat, so one launch steps the whole model.
/// SGD with momentum μ, weight decay λ and learning rate η (PyTorch semantics, dampening 0):
/// g ← g + λ·p;  v ← μ·v + g;  p ← p − η·(nesterov ? g + μ·v : v).
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
}

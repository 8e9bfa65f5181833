using GpuCnn.Graphs;
using GpuCnn.Kernels.Optim;

namespace GpuCnn.Optimizers;

/// <summary>
/// Adam with decoupled weight decay, with the semantics of <c>torch.optim.AdamW</c>
/// (see <see cref="OptimKernels.AdamW"/>): p ← p − η·λ·p, then the Adam update without decay in the gradient.
/// One kernel launch per device updates every parameter there.
/// </summary>
public sealed class AdamW : AdamBase
{
    /// <summary>Creates the optimiser (PyTorch's defaults, weight decay 0.01).</summary>
    public AdamW(ParameterStore store, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0.01f, bool decayBiases = true)
        : base(store, learningRate, beta1, beta2, eps, weightDecay, decayBiases, OptimKernels.AdamW)
    {
    }

    /// <inheritdoc/>
    public override string Name => "adamw";
}

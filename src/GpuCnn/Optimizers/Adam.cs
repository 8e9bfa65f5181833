using GpuCnn.Graphs;
using GpuCnn.Kernels.Optim;

namespace GpuCnn.Optimizers;

/// <summary>
/// Adam with L2 weight decay folded into the gradient, with the semantics of <c>torch.optim.Adam</c>
/// (see <see cref="OptimKernels.Adam"/>). One kernel launch per device updates every parameter there.
/// </summary>
public sealed class Adam : AdamBase
{
    /// <summary>Creates the optimiser (PyTorch's defaults).</summary>
    public Adam(ParameterStore store, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f,
        float weightDecay = 0f, bool decayBiases = true)
        : base(store, learningRate, beta1, beta2, eps, weightDecay, decayBiases, OptimKernels.Adam)
    {
    }

    /// <inheritdoc/>
    public override string Name => "adam";
}

namespace GpuCnn.Kernels.Optim;

/// <summary>
/// Hyper-parameters of one Adam or AdamW step (see <see cref="OptimKernels.Adam"/>), packed into one struct so the
/// kernel stays within ILGPU's argument limit. The bias corrections are computed on the host (in double) per step.
/// </summary>
public struct AdamParams
{
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

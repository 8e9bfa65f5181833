namespace GpuCnn.Optimizers;

/// <summary>Learning rate as a function of the epoch.</summary>
public interface ILearningRateSchedule
{
    /// <summary>The rate for zero-based <paramref name="epoch"/> given the base rate.</summary>
    float Rate(float baseRate, int epoch);
}

/// <summary>Constant rate.</summary>
public sealed class ConstantLR : ILearningRateSchedule
{
    /// <inheritdoc/>
    public float Rate(float baseRate, int epoch) => baseRate;
}

/// <summary>Step decay, as <c>torch.optim.lr_scheduler.StepLR</c>: rate = base · γ^⌊epoch / stepSize⌋.</summary>
public sealed class StepLR : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    public StepLR(int stepSize, float gamma = 0.1f)
    {
        if (stepSize <= 0) throw new ArgumentException($"step size must be positive, got {stepSize}");
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }
    /// <summary>Decay factor.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public float Rate(float baseRate, int epoch) => baseRate * MathF.Pow(Gamma, epoch / StepSize);
}

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

/// <summary>
/// Decay at milestones, as <c>torch.optim.lr_scheduler.MultiStepLR</c>:
/// rate = base · γ^(number of milestones ≤ epoch).
/// </summary>
public sealed class MultiStepLR : ILearningRateSchedule
{
    readonly int[] milestones;

    /// <summary>Creates the schedule; <paramref name="milestones"/> are distinct positive epochs, in any order.</summary>
    public MultiStepLR(IEnumerable<int> milestones, float gamma = 0.1f)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        this.milestones = milestones.Order().ToArray();
        if (this.milestones.Length == 0) throw new ArgumentException("multi-step schedule needs at least one milestone");
        if (this.milestones[0] <= 0) throw new ArgumentException($"milestones must be positive epochs, got {this.milestones[0]}");
        for (int i = 1; i < this.milestones.Length; i++)
            if (this.milestones[i] == this.milestones[i - 1])
                throw new ArgumentException($"milestone {this.milestones[i]} is given twice");
        if (!(gamma > 0) || float.IsInfinity(gamma)) throw new ArgumentException($"gamma must be positive and finite, got {gamma}");
        Gamma = gamma;
    }

    /// <summary>Epochs at which the rate is multiplied by <see cref="Gamma"/>, ascending.</summary>
    public IReadOnlyList<int> Milestones => milestones;
    /// <summary>Decay factor.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public float Rate(float baseRate, int epoch) => baseRate * MathF.Pow(Gamma, milestones.Count(m => m <= epoch));
}

/// <summary>
/// Cosine annealing, the closed form of <c>torch.optim.lr_scheduler.CosineAnnealingLR</c>:
/// rate = η_min + (base − η_min)·(1 + cos(π·e / T_max)) / 2 with e = min(epoch, T_max), so the rate stays at η_min
/// after T_max epochs (no restarts).
/// </summary>
public sealed class CosineAnnealingLR : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    public CosineAnnealingLR(int tMax, float etaMin = 0f)
    {
        if (tMax <= 0) throw new ArgumentException($"T_max must be positive, got {tMax}");
        if (!(etaMin >= 0) || float.IsInfinity(etaMin)) throw new ArgumentException($"eta_min must be non-negative and finite, got {etaMin}");
        TMax = tMax;
        EtaMin = etaMin;
    }

    /// <summary>Epochs from the base rate down to <see cref="EtaMin"/>.</summary>
    public int TMax { get; }
    /// <summary>Final rate.</summary>
    public float EtaMin { get; }

    /// <inheritdoc/>
    public float Rate(float baseRate, int epoch)
    {
        int e = Math.Clamp(epoch, 0, TMax);
        return (float)(EtaMin + (baseRate - (double)EtaMin) * (1 + Math.Cos(Math.PI * e / TMax)) / 2);
    }
}

/// <summary>
/// Linear warm-up before another schedule, as <c>torch.optim.lr_scheduler.LinearLR</c> followed by the inner
/// schedule in a <c>SequentialLR</c>: for epoch &lt; W the rate is
/// (f + (1 − f)·epoch / W) · inner(base, 0), rising linearly from f·inner(base, 0); from epoch W on it is
/// inner(base, epoch − W), the inner schedule counting its epochs from 0 after the warm-up.
/// </summary>
public sealed class WarmupLR : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    public WarmupLR(ILearningRateSchedule inner, int warmupEpochs, float startFactor = 0.1f)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (warmupEpochs <= 0) throw new ArgumentException($"warm-up epochs must be positive, got {warmupEpochs}");
        if (!(startFactor > 0 && startFactor <= 1)) throw new ArgumentException($"warm-up start factor must be in (0, 1], got {startFactor}");
        Inner = inner;
        WarmupEpochs = warmupEpochs;
        StartFactor = startFactor;
    }

    /// <summary>The schedule that follows the warm-up.</summary>
    public ILearningRateSchedule Inner { get; }
    /// <summary>Warm-up length W in epochs.</summary>
    public int WarmupEpochs { get; }
    /// <summary>Fraction f of the rate at epoch 0.</summary>
    public float StartFactor { get; }

    /// <inheritdoc/>
    public float Rate(float baseRate, int epoch)
    {
        if (epoch >= WarmupEpochs) return Inner.Rate(baseRate, epoch - WarmupEpochs);
        double factor = StartFactor + (1 - (double)StartFactor) * Math.Max(0, epoch) / WarmupEpochs;
        return (float)(factor * Inner.Rate(baseRate, 0));
    }
}

/// <summary>Parses learning-rate schedule specifications such as <c>warmup:2+cosine</c> (for the command line).</summary>
public static class Schedules
{
    /// <summary>The accepted forms, for help texts and error messages.</summary>
    public const string ValidForms =
        "constant, step:N[:gamma], multistep:a,b,c[:gamma], cosine[:etaMin], each optionally prefixed by warmup:N[:startFactor]+ (e.g. warmup:2+cosine)";

    /// <summary>
    /// Parses <paramref name="spec"/> (case-insensitive): <c>constant</c>; <c>step:N[:gamma]</c> (<see cref="StepLR"/>,
    /// γ 0.1 by default); <c>multistep:a,b,c[:gamma]</c> (<see cref="MultiStepLR"/>); <c>cosine[:etaMin]</c>
    /// (<see cref="CosineAnnealingLR"/> over the training run: T_max = <paramref name="epochs"/>, less the warm-up if
    /// any, at least 1); each optionally prefixed by <c>warmup:N[:startFactor]+</c> (<see cref="WarmupLR"/>, start
    /// factor 0.1 by default).
    /// </summary>
    /// <exception cref="ArgumentException">The specification is invalid; the message lists the valid forms.</exception>
    public static ILearningRateSchedule Parse(string spec, int epochs)
    {
        ArgumentNullException.ThrowIfNull(spec);
        string s = spec.Trim().ToLowerInvariant();
        try
        {
            if (s.StartsWith("warmup:", StringComparison.Ordinal))
            {
                int plus = s.IndexOf('+');
                if (plus < 0) throw Bad("a warm-up needs the schedule that follows it after '+'");
                var w = s["warmup:".Length..plus].Split(':');
                if (w.Length > 2) throw Bad($"bad warm-up '{s[..plus]}'");
                int warmup = Int(w[0], "warm-up epochs");
                float factor = w.Length == 2 ? Float(w[1], "warm-up start factor") : 0.1f;
                string rest = s[(plus + 1)..];
                if (rest.StartsWith("warmup:", StringComparison.Ordinal)) throw Bad("only one warm-up is allowed");
                return new WarmupLR(ParseInner(rest, Math.Max(1, epochs - warmup), epochs), warmup, factor);
            }
            return ParseInner(s, epochs, epochs);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"invalid learning-rate schedule '{spec}': {e.Message}; valid forms: {ValidForms}", e);
        }

        static ArgumentException Bad(string why) => new(why);
    }

    static ILearningRateSchedule ParseInner(string s, int cosineEpochs, int epochs)
    {
        var parts = s.Split(':');
        switch (parts[0])
        {
            case "constant" when parts.Length == 1:
                return new ConstantLR();
            case "step" when parts.Length is 2 or 3:
                return new StepLR(Int(parts[1], "step size"), parts.Length == 3 ? Float(parts[2], "gamma") : 0.1f);
            case "multistep" when parts.Length is 2 or 3:
                var milestones = parts[1].Split(',').Select(m => Int(m, "milestone")).ToList();
                return new MultiStepLR(milestones, parts.Length == 3 ? Float(parts[2], "gamma") : 0.1f);
            case "cosine" when parts.Length is 1 or 2:
                if (epochs <= 0) throw new ArgumentException($"cosine annealing needs a positive number of epochs, got {epochs}");
                return new CosineAnnealingLR(cosineEpochs, parts.Length == 2 ? Float(parts[1], "eta_min") : 0f);
            case "constant" or "step" or "multistep" or "cosine":
                throw new ArgumentException($"wrong number of ':' fields for '{parts[0]}'");
            default:
                throw new ArgumentException($"unknown schedule '{parts[0]}'");
        }
    }

    static int Int(string text, string what) =>
        int.TryParse(text.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v)
            ? v : throw new ArgumentException($"{what} '{text}' is not an integer");

    static float Float(string text, string what) =>
        float.TryParse(text.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float v) && float.IsFinite(v)
            ? v : throw new ArgumentException($"{what} '{text}' is not a finite number");
}

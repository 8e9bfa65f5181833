using GpuCnn.Graphs;

namespace GpuCnn.Optimizers;

/// <summary>Creates optimisers by name (for the command line and checkpoints).</summary>
public static class OptimizerFactory
{
    /// <summary>The accepted names.</summary>
    public const string Names = "sgd, adam, adamw";

    /// <summary>
    /// Creates the optimiser <paramref name="name"/> (case-insensitive): <c>sgd</c> (<see cref="Sgd"/> with
    /// <paramref name="momentum"/> and <paramref name="nesterov"/>), <c>adam</c> (<see cref="Adam"/>, L2 weight decay)
    /// or <c>adamw</c> (<see cref="AdamW"/>, decoupled weight decay). Adam and AdamW use PyTorch's default β1, β2
    /// and ε and ignore <paramref name="momentum"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown (the message lists <see cref="Names"/>), Nesterov
    /// momentum is asked of Adam or AdamW, or a hyper-parameter is out of range.</exception>
    public static Optimizer Create(string name, ParameterStore store, float lr, float momentum, float weightDecay, bool nesterov,
        bool decayBiases)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(store);
        string n = name.Trim().ToLowerInvariant();
        if (nesterov && n is "adam" or "adamw")
            throw new ArgumentException($"Nesterov momentum applies to sgd only, not {n}");
        return n switch
        {
            "sgd" => new Sgd(store, lr, momentum, weightDecay, nesterov, decayBiases),
            "adam" => new Adam(store, lr, weightDecay: weightDecay, decayBiases: decayBiases),
            "adamw" => new AdamW(store, lr, weightDecay: weightDecay, decayBiases: decayBiases),
            _ => throw new ArgumentException($"unknown optimiser '{name}'; valid: {Names}"),
        };
    }
}

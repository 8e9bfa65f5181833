using GpuCnn.Graphs;

namespace GpuCnn.Optimizers;

/// <summary>An optimiser updates a <see cref="ParameterStore"/> from its gradients.</summary>
public abstract class Optimizer : IDisposable
{
    /// <summary>Creates the optimiser.</summary>
    protected Optimizer(ParameterStore store, float learningRate)
    {
        if (!(learningRate > 0)) throw new ArgumentException($"learning rate must be positive, got {learningRate}");
        Store = store;
        LearningRate = learningRate;
    }

    /// <summary>The parameters it updates.</summary>
    public ParameterStore Store { get; }

    /// <summary>Current learning rate (a schedule changes it between epochs).</summary>
    public float LearningRate { get; set; }

    /// <summary>Optimiser steps taken.</summary>
    public long Steps { get; protected set; }

    /// <summary>Short name, stored in checkpoints.</summary>
    public abstract string Name { get; }

    /// <summary>Applies one update using the current gradients.</summary>
    public abstract void Step();

    /// <summary>The optimiser's state buffers (e.g. momentum), one flat array per device slice, for checkpoints.</summary>
    public abstract IReadOnlyList<float[]> GetState();

    /// <summary>Restores state from <see cref="GetState"/>'s layout.</summary>
    public abstract void SetState(IReadOnlyList<float[]> state, long steps);

    /// <summary>Frees device memory.</summary>
    public abstract void Dispose();
}

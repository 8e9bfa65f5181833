using GpuCnn.Graphs;

namespace GpuCnn.Optimizers;

/// <summary>An optimiser updates a <see cref="ParameterStore"/> from its gradients.</summary>
public abstract class Optimizer : IDisposable
{
    /// <summary>Creates the optimiser.</summary>
    protected Optimizer(ParameterStore store, float learningRate, bool decayBiases = true)
    {
        if (!(learningRate > 0)) throw new ArgumentException($"learning rate must be positive, got {learningRate}");
        Store = store;
        LearningRate = learningRate;
        DecayBiases = decayBiases;
    }

    /// <summary>
    /// Whether weight decay also applies to biases and normalisation parameters (PyTorch's default: yes).
    /// </summary>
    public bool DecayBiases { get; }

    /// <summary>Elements of <paramref name="slice"/> that weight decay applies to (a prefix, see <see cref="ParameterStore.DeviceSlice.DecayedLength"/>).</summary>
    protected int DecayEnd(ParameterStore.DeviceSlice slice) => (int)(DecayBiases ? slice.Length : slice.DecayedLength);

    /// <summary>State buffers per parameter value (SGD's momentum: 1; Adam's moments: 2).</summary>
    public abstract int StateBuffers { get; }

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

    /// <summary>
    /// True when <see cref="Step"/> passes values that change every step to its kernels (Adam's bias correction), so a
    /// captured step could not be replayed.
    /// </summary>
    public virtual bool VariesPerStep => false;

    /// <summary>The host-side bookkeeping of a step whose kernels were replayed from a captured graph.</summary>
    internal void NoteReplayedStep() => Steps++;

    /// <summary>
    /// The optimiser's state, one array per device slice of <see cref="StateBuffers"/> × slice length values:
    /// buffer 0 for the whole slice, then buffer 1, and so on. For checkpoints.
    /// </summary>
    public abstract IReadOnlyList<float[]> GetState();

    /// <summary>Restores state from <see cref="GetState"/>'s layout.</summary>
    public abstract void SetState(IReadOnlyList<float[]> state, long steps);

    /// <summary>Frees device memory.</summary>
    public abstract void Dispose();
}

using GpuCnn.Kernels.Random;
using ILGPU;

namespace GpuCnn.Kernels.Elementwise;

/// <summary>Arguments of <see cref="DropoutKernels.Forward"/>: y = x·m·scale.</summary>
public struct DropoutForwardArgs
{
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
    /// <summary>Philox key of the layer (seed and layer name).</summary>
    public ulong Key;
    /// <summary>Training step, the second counter word.</summary>
    public ulong Step;
    /// <summary>
    /// Added to the element counter: the batch's first element in the step's whole batch (non-zero for a micro-batch
    /// or a rank's shard), so a step draws the same numbers however its batch is split.
    /// </summary>
    public ulong Offset;
    /// <summary>Drop probability p.</summary>
    public float P;
    /// <summary>1/(1 − p).</summary>
    public float Scale;
}

/// <summary>Arguments of <see cref="DropoutKernels.Backward"/>: dx = beta·dx + dy·m·scale.</summary>
public struct DropoutBackwardArgs
{
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Input gradient.</summary>
    public ArrayView<float> Dx;
    /// <summary>Philox key of the layer, as in forward.</summary>
    public ulong Key;
    /// <summary>Training step, as in forward.</summary>
    public ulong Step;
    /// <summary>Element counter offset, as in forward.</summary>
    public ulong Offset;
    /// <summary>Drop probability p.</summary>
    public float P;
    /// <summary>1/(1 − p).</summary>
    public float Scale;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>
/// Inverted dropout: m_i = [u_i ≥ p] with u_i = Philox(key, (i, step)); y = x·m/(1−p); dx = dy·m/(1−p).
/// The mask is recomputed in backward from the same counter, so it is never stored.
/// </summary>
public static class DropoutKernels
{
    /// <summary>Training forward.</summary>
    public static void Forward(Index1D t, int n, int chunk, DropoutForwardArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
            a.Y[i] = Philox4x32.Uniform(a.Key, (ulong)i + a.Offset, a.Step) >= a.P ? a.X[i] * a.Scale : 0f;
    }

    /// <summary>Training backward: dx = beta·dx + dy·m·scale.</summary>
    public static void Backward(Index1D t, int n, int chunk, DropoutBackwardArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float g = Philox4x32.Uniform(a.Key, (ulong)i + a.Offset, a.Step) >= a.P ? a.Dy[i] * a.Scale : 0f;
            a.Dx[i] = a.Beta == 0f ? g : a.Beta * a.Dx[i] + g;
        }
    }
}

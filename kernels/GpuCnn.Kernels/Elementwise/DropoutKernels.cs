using GpuCnn.Kernels.Random;
using ILGPU;

namespace GpuCnn.Kernels.Elementwise;

/// <summary>
/// Inverted dropout: m_i = [u_i ≥ p] with u_i = Philox(key, (i, step)); y = x·m/(1−p); dx = dy·m/(1−p).
/// The mask is recomputed in backward from the same counter, so it is never stored.
/// </summary>
public static class DropoutKernels
{
    /// <summary>Training forward.</summary>
    public static void Forward(Index1D t, int n, int chunk, ArrayView<float> x, ArrayView<float> y,
        ulong key, ulong step, float p, float scale)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
            y[i] = Philox4x32.Uniform(key, (ulong)i, step) >= p ? x[i] * scale : 0f;
    }

    /// <summary>Training backward: dx = beta·dx + dy·m·scale.</summary>
    public static void Backward(Index1D t, int n, int chunk, ArrayView<float> dy, ArrayView<float> dx,
        ulong key, ulong step, float p, float scale, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            float g = Philox4x32.Uniform(key, (ulong)i, step) >= p ? dy[i] * scale : 0f;
            dx[i] = beta == 0f ? g : beta * dx[i] + g;
        }
    }
}

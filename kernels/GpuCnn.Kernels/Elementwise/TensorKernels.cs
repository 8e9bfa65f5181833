using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Elementwise;

/// <summary>Which channels to copy from one NCHW tensor into another (for concatenation along channels).</summary>
public struct ChannelSlice
{
    /// <summary>Spatial size H·W.</summary>
    public int Plane;
    /// <summary>Channels copied.</summary>
    public int Count;
    /// <summary>Channels of the source and of the destination tensor.</summary>
    public int SrcChannels, DstChannels;
    /// <summary>First channel read in the source and written in the destination.</summary>
    public int SrcOffset, DstOffset;
    /// <summary>Division by <see cref="Plane"/> and <see cref="Count"/> (set by <see cref="Prepare"/>): GPUs have no
    /// integer divide instruction.</summary>
    public FastDiv ByPlane, ByCount;

    /// <summary>A copy with the divisors set; <see cref="TensorKernels.CopyChannels"/> needs it.</summary>
    public readonly ChannelSlice Prepare()
    {
        var s = this;
        s.ByPlane = FastDiv.For(Math.Max(1, Plane));
        s.ByCount = FastDiv.For(Math.Max(1, Count));
        return s;
    }
}

/// <summary>
/// Structural and normalising tensor ops.
/// <para>Concat along channels: y[n, o_i + c] = x_i[n, c]; its backward is the reverse slice, dx_i[n, c] = dy[n, o_i + c].</para>
/// <para>Softmax over channels (per sample and pixel): y_c = e^{x_c − max} / Σ e^{x_k − max}; dx_c = y_c (dy_c − Σ_k dy_k y_k).</para>
/// </summary>
public static class TensorKernels
{
    /// <summary>dst[slice] = beta·dst[slice] + src[slice]; one element of the slice per iteration.</summary>
    public static void CopyChannels(Index1D t, int n, int chunk, ChannelSlice s, ArrayView<float> src, ArrayView<float> dst, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int r = s.ByPlane.DivRem(e, out int pos);
            int nn = s.ByCount.DivRem(r, out int c);
            int si = (nn * s.SrcChannels + s.SrcOffset + c) * s.Plane + pos;
            int di = (nn * s.DstChannels + s.DstOffset + c) * s.Plane + pos;
            dst[di] = beta == 0f ? src[si] : beta * dst[di] + src[si];
        }
    }

    /// <summary>Softmax over <paramref name="channels"/> for each (sample, pixel); one (sample, pixel) per iteration.</summary>
    public static void SoftmaxForward(Index1D t, int n, int chunk, int channels, int plane, ArrayView<float> x, ArrayView<float> y)
    {
        int end = Chunk.End(t, chunk, n);
        for (int r = Chunk.Start(t, chunk); r < end; r++)
        {
            int b = (r / plane) * channels * plane + r % plane;
            float max = x[b];
            for (int c = 1; c < channels; c++) max = XMath.Max(max, x[b + c * plane]);
            float sum = 0f;
            for (int c = 0; c < channels; c++)
            {
                float e = XMath.Exp(x[b + c * plane] - max);
                y[b + c * plane] = e;
                sum += e;
            }
            float inv = 1f / sum;
            for (int c = 0; c < channels; c++) y[b + c * plane] *= inv;
        }
    }

    /// <summary>Softmax backward from the output y; one (sample, pixel) per iteration.</summary>
    public static void SoftmaxBackward(Index1D t, int n, int chunk, int channels, int plane,
        ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        for (int r = Chunk.Start(t, chunk); r < end; r++)
        {
            int b = (r / plane) * channels * plane + r % plane;
            float dot = 0f;
            for (int c = 0; c < channels; c++) dot += dy[b + c * plane] * y[b + c * plane];
            for (int c = 0; c < channels; c++)
            {
                int i = b + c * plane;
                float g = y[i] * (dy[i] - dot);
                dx[i] = beta == 0f ? g : beta * dx[i] + g;
            }
        }
    }
}

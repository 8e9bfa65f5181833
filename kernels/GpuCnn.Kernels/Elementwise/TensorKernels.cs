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

/// <summary>Arguments of <see cref="TensorKernels.CopyChannels"/>: dst[slice] = beta·dst[slice] + src[slice].</summary>
public struct CopyChannelsArgs
{
    /// <summary>The channels copied (prepared).</summary>
    public ChannelSlice Slice;
    /// <summary>Source tensor.</summary>
    public ArrayView<float> Src;
    /// <summary>Destination tensor.</summary>
    public ArrayView<float> Dst;
    /// <summary>0 overwrites the destination slice, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>Arguments of <see cref="TensorKernels.SoftmaxForward"/>.</summary>
public struct SoftmaxForwardArgs
{
    /// <summary>Channels (the softmax axis) and spatial size per sample.</summary>
    public int Channels, Plane;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
}

/// <summary>Arguments of <see cref="TensorKernels.SoftmaxBackward"/>.</summary>
public struct SoftmaxBackwardArgs
{
    /// <summary>Channels (the softmax axis) and spatial size per sample.</summary>
    public int Channels, Plane;
    /// <summary>Forward output.</summary>
    public ArrayView<float> Y;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Input gradient.</summary>
    public ArrayView<float> Dx;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>
/// Structural and normalising tensor ops.
/// <para>Concat along channels: y[n, o_i + c] = x_i[n, c]; its backward is the reverse slice, dx_i[n, c] = dy[n, o_i + c].</para>
/// <para>Softmax over channels (per sample and pixel): y_c = e^{x_c − max} / Σ e^{x_k − max}; dx_c = y_c (dy_c − Σ_k dy_k y_k).</para>
/// </summary>
public static class TensorKernels
{
    /// <summary>dst[slice] = beta·dst[slice] + src[slice]; one element of the slice per iteration.</summary>
    public static void CopyChannels(Index1D t, int n, int chunk, CopyChannelsArgs a)
    {
        ChannelSlice s = a.Slice;
        int end = Chunk.End(t, chunk, n);
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int r = s.ByPlane.DivRem(e, out int pos);
            int nn = s.ByCount.DivRem(r, out int c);
            int si = (nn * s.SrcChannels + s.SrcOffset + c) * s.Plane + pos;
            int di = (nn * s.DstChannels + s.DstOffset + c) * s.Plane + pos;
            a.Dst[di] = a.Beta == 0f ? a.Src[si] : a.Beta * a.Dst[di] + a.Src[si];
        }
    }

    /// <summary>Softmax over the channels for each (sample, pixel); one (sample, pixel) per iteration.</summary>
    public static void SoftmaxForward(Index1D t, int n, int chunk, SoftmaxForwardArgs a)
    {
        int channels = a.Channels, plane = a.Plane;
        var x = a.X;
        var y = a.Y;
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
    public static void SoftmaxBackward(Index1D t, int n, int chunk, SoftmaxBackwardArgs a)
    {
        int channels = a.Channels, plane = a.Plane;
        var y = a.Y;
        var dy = a.Dy;
        var dx = a.Dx;
        float beta = a.Beta;
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

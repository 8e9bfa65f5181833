using System.Runtime.CompilerServices;
using System.Numerics;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Kernels.Optim;
using GpuCnn.Kernels.Random;

namespace GpuCnn.Devices;

/// <summary><see cref="ElementwiseKernels.Fill"/>.</summary>
internal sealed unsafe class FillOverride : HostOverride<FillArgs>
{
    protected override int Grain => 65536;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in FillArgs a) =>
        new Span<float>(HostMemory.Ptr(a.Y) + start, end - start).Fill(a.Value);

    protected override HostOverride<FillArgs> Clone() => new FillOverride();
}

/// <summary><see cref="ElementwiseKernels.Axpby"/>: y = β·y + α·x (β = 0 ignores y).</summary>
internal sealed unsafe class AxpbyOverride : HostOverride<AxpbyArgs>
{
    protected override int Grain => 32768;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in AxpbyArgs a) =>
        Axpby(HostMemory.Ptr(a.X), HostMemory.Ptr(a.Y), a.Alpha, a.Beta, start, end);

    /// <summary>y[i] = β == 0 ? α·x[i] : α·x[i] + β·y[i] over [i, end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Axpby(float* x, float* y, float alpha, float beta, int i, int end)
    {
        Vector<float> va = new(alpha), vb = new(beta);
        if (beta == 0f)
        {
            for (; i <= end - Vector<float>.Count; i += Vector<float>.Count) (va * Vector.Load(x + i)).Store(y + i);
            for (; i < end; i++) y[i] = alpha * x[i];
        }
        else
        {
            for (; i <= end - Vector<float>.Count; i += Vector<float>.Count) (va * Vector.Load(x + i) + vb * Vector.Load(y + i)).Store(y + i);
            for (; i < end; i++) y[i] = alpha * x[i] + beta * y[i];
        }
    }

    protected override HostOverride<AxpbyArgs> Clone() => new AxpbyOverride();
}

/// <summary><see cref="ProductKernels.Forward"/> (y = a·b) and <see cref="ProductKernels.Backward"/> (y = β·y + a·b).</summary>
internal sealed unsafe class ProductOverride(bool backward) : HostOverride<ProductArgs>
{
    protected override int Grain => 32768;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in ProductArgs p)
    {
        float* a = HostMemory.Ptr(p.A), b = HostMemory.Ptr(p.B), y = HostMemory.Ptr(p.Y);
        float beta = backward ? p.Beta : 0f;
        int i = start, w = Vector<float>.Count;
        if (beta == 0f)
        {
            for (; i <= end - w; i += w) (Vector.Load(a + i) * Vector.Load(b + i)).Store(y + i);
            for (; i < end; i++) y[i] = a[i] * b[i];
        }
        else
        {
            var vb = new Vector<float>(beta);
            for (; i <= end - w; i += w) (vb * Vector.Load(y + i) + Vector.Load(a + i) * Vector.Load(b + i)).Store(y + i);
            for (; i < end; i++) y[i] = beta * y[i] + a[i] * b[i];
        }
    }

    protected override HostOverride<ProductArgs> Clone() => new ProductOverride(backward);
}

/// <summary><see cref="TensorKernels.CopyChannels"/>: the slice's elements, one contiguous plane segment at a time.</summary>
internal sealed unsafe class CopyChannelsOverride : HostOverride<CopyChannelsArgs>
{
    protected override int Grain => 32768;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in CopyChannelsArgs a)
    {
        ChannelSlice s = a.Slice;
        float* src = HostMemory.Ptr(a.Src), dst = HostMemory.Ptr(a.Dst);
        int plane = Math.Max(1, s.Plane), count = Math.Max(1, s.Count);
        for (int e = start; e < end;)
        {
            int r = e / plane, pos = e - r * plane, nn = r / count, c = r - nn * count;
            int len = Math.Min(plane - pos, end - e);
            float* si = src + (long)(nn * s.SrcChannels + s.SrcOffset + c) * s.Plane + pos;
            float* di = dst + (long)(nn * s.DstChannels + s.DstOffset + c) * s.Plane + pos;
            if (a.Beta == 0f) new ReadOnlySpan<float>(si, len).CopyTo(new Span<float>(di, len));
            else Accumulate(di, si, a.Beta, len);
            e += len;
        }
    }

    /// <summary>d[i] = β·d[i] + s[i] for i &lt; len.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Accumulate(float* d, float* s, float beta, int len)
    {
        var vb = new Vector<float>(beta);
        int i = 0;
        for (; i <= len - Vector<float>.Count; i += Vector<float>.Count) (vb * Vector.Load(d + i) + Vector.Load(s + i)).Store(d + i);
        for (; i < len; i++) d[i] = beta * d[i] + s[i];
    }

    protected override HostOverride<CopyChannelsArgs> Clone() => new CopyChannelsOverride();
}

/// <summary>
/// <see cref="DropoutKernels.Forward"/> and <see cref="DropoutKernels.Backward"/>: Philox per element as the body
/// draws it, over host pointers.
/// </summary>
internal sealed unsafe class DropoutForwardOverride : HostOverride<DropoutForwardArgs>
{
    protected override int Grain => 8192;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in DropoutForwardArgs a)
    {
        float* x = HostMemory.Ptr(a.X), y = HostMemory.Ptr(a.Y);
        for (int i = start; i < end; i++)
            y[i] = Philox4x32.Uniform(a.Key, (ulong)i + a.Offset, a.Step) >= a.P ? x[i] * a.Scale : 0f;
    }

    protected override HostOverride<DropoutForwardArgs> Clone() => new DropoutForwardOverride();
}

/// <inheritdoc cref="DropoutForwardOverride"/>
internal sealed unsafe class DropoutBackwardOverride : HostOverride<DropoutBackwardArgs>
{
    protected override int Grain => 8192;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in DropoutBackwardArgs a)
    {
        float* dy = HostMemory.Ptr(a.Dy), dx = HostMemory.Ptr(a.Dx);
        for (int i = start; i < end; i++)
        {
            float g = Philox4x32.Uniform(a.Key, (ulong)i + a.Offset, a.Step) >= a.P ? dy[i] * a.Scale : 0f;
            dx[i] = a.Beta == 0f ? g : a.Beta * dx[i] + g;
        }
    }

    protected override HostOverride<DropoutBackwardArgs> Clone() => new DropoutBackwardOverride();
}

/// <summary>
/// <see cref="ClipKernels.SumSquares"/>: partial p sums g[i]² over i = p, p + n, …; consecutive partials are
/// consecutive addresses, so each lane keeps one partial's chain in its order.
/// </summary>
internal sealed unsafe class SumSquaresOverride : HostOverride<SumSquaresArgs>
{
    protected override int Grain => 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in SumSquaresArgs a)
    {
        float* g = HostMemory.Ptr(a.G), part = HostMemory.Ptr(a.Partials);
        int len = a.Length, p = start;
        for (; p <= end - Vector<float>.Count; p += Vector<float>.Count)
        {
            var s = Vector<float>.Zero;
            int i = p;
            for (; i + Vector<float>.Count - 1 < len; i += n) { var v = Vector.Load(g + i); s += v * v; }
            s.Store(part + p);
            for (int l = 0; l < Vector<float>.Count; l++) // lanes whose last element lies past the last full vector
                for (int j = i + l; j < len; j += n) part[p + l] += g[j] * g[j];
        }
        for (; p < end; p++)
        {
            float s = 0f;
            for (int i = p; i < len; i += n) s += g[i] * g[i];
            part[p] = s;
        }
    }

    protected override HostOverride<SumSquaresArgs> Clone() => new SumSquaresOverride();
}

/// <summary><see cref="ClipKernels.ScaleBy"/>: g *= factor.</summary>
internal sealed unsafe class ScaleByOverride : HostOverride<ScaleByArgs>
{
    protected override int Grain => 65536;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in ScaleByArgs a)
    {
        float* g = HostMemory.Ptr(a.G);
        float f = HostMemory.Ptr(a.NormAndFactor)[1];
        var vf = new Vector<float>(f);
        int i = start;
        for (; i <= end - Vector<float>.Count; i += Vector<float>.Count) (Vector.Load(g + i) * vf).Store(g + i);
        for (; i < end; i++) g[i] *= f;
    }

    protected override HostOverride<ScaleByArgs> Clone() => new ScaleByOverride();
}

/// <summary>Registers the element-wise and tensor kernels' overrides.</summary>
internal sealed class HostElementwiseOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<FillArgs>(ElementwiseKernels.Fill, new FillOverride());
        HostOverrides.Add<AxpbyArgs>(ElementwiseKernels.Axpby, new AxpbyOverride());
        HostOverrides.Add<ProductArgs>(ProductKernels.Forward, new ProductOverride(false));
        HostOverrides.Add<ProductArgs>(ProductKernels.Backward, new ProductOverride(true));
        HostOverrides.Add<CopyChannelsArgs>(TensorKernels.CopyChannels, new CopyChannelsOverride());
        HostOverrides.Add<DropoutForwardArgs>(DropoutKernels.Forward, new DropoutForwardOverride());
        HostOverrides.Add<DropoutBackwardArgs>(DropoutKernels.Backward, new DropoutBackwardOverride());
        HostOverrides.Add<SumSquaresArgs>(ClipKernels.SumSquares, new SumSquaresOverride());
        HostOverrides.Add<ScaleByArgs>(ClipKernels.ScaleBy, new ScaleByOverride());
    }
}

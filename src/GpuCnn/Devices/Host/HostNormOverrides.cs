using System.Runtime.CompilerServices;
using System.Numerics;
using GpuCnn.Kernels.Norm;
using ILGPU.Algorithms;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="BatchNormKernels.BatchStats"/>: each channel's sums keep the body's order (one double chain per channel,
/// in image then pixel order), so they stay scalar; four channels run side by side, so four chains overlap.
/// </summary>
internal sealed unsafe class BatchStatsOverride : HostOverride<BatchNormStatsArgs>
{
    protected override int Grain => 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in BatchNormStatsArgs a)
    {
        BatchNormParams p = a.Geometry;
        float* x = HostMemory.Ptr(a.X);
        int c = start;
        for (; c + 4 <= end; c += 4)
        {
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                float* b = x + (long)(nn * p.C + c) * p.Plane;
                float* b1 = b + p.Plane, b2 = b1 + p.Plane, b3 = b2 + p.Plane;
                for (int s = 0; s < p.Plane; s++) { s0 += b[s]; s1 += b1[s]; s2 += b2[s]; s3 += b3[s]; }
            }
            int m = p.N * p.Plane;
            float m0 = (float)(s0 / m), m1 = (float)(s1 / m), m2 = (float)(s2 / m), m3 = (float)(s3 / m);
            double q0 = 0, q1 = 0, q2 = 0, q3 = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                float* b = x + (long)(nn * p.C + c) * p.Plane;
                float* b1 = b + p.Plane, b2 = b1 + p.Plane, b3 = b2 + p.Plane;
                for (int s = 0; s < p.Plane; s++)
                {
                    float d0 = b[s] - m0, d1 = b1[s] - m1, d2 = b2[s] - m2, d3 = b3[s] - m3;
                    q0 += d0 * d0; q1 += d1 * d1; q2 += d2 * d2; q3 += d3 * d3;
                }
            }
            Finish(c, m0, q0, a); Finish(c + 1, m1, q1, a); Finish(c + 2, m2, q2, a); Finish(c + 3, m3, q3, a);
        }
        for (; c < end; c++)
        {
            double sum = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                float* b = x + (long)(nn * p.C + c) * p.Plane;
                for (int s = 0; s < p.Plane; s++) sum += b[s];
            }
            float mean = (float)(sum / (p.N * p.Plane));
            double sq = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                float* b = x + (long)(nn * p.C + c) * p.Plane;
                for (int s = 0; s < p.Plane; s++) { float d = b[s] - mean; sq += d * d; }
            }
            Finish(c, mean, sq, a);
        }
    }

    /// <summary>The body's per-channel tail: statistics and running averages from the mean and Σ(x − μ)².</summary>
    static void Finish(int c, float mean, double sq, in BatchNormStatsArgs a)
    {
        BatchNormParams p = a.Geometry;
        float* stats = HostMemory.Ptr(a.Stats), runningMean = HostMemory.Ptr(a.RunningMean), runningVar = HostMemory.Ptr(a.RunningVar);
        int m = p.N * p.Plane;
        float var = (float)(sq / m);
        stats[c] = mean;
        stats[p.C + c] = XMath.Rsqrt(var + p.Eps);
        float unbiased = m > 1 ? var * m / (m - 1) : var;
        runningMean[c] = (1f - p.Momentum) * runningMean[c] + p.Momentum * mean;
        runningVar[c] = (1f - p.Momentum) * runningVar[c] + p.Momentum * unbiased;
    }

    protected override HostOverride<BatchNormStatsArgs> Clone() => new BatchStatsOverride();
}

/// <summary><see cref="BatchNormKernels.BackwardReduce"/>: Σdy and Σdy·x̂ per channel, four channels' chains side by side.</summary>
internal sealed unsafe class BatchNormReduceOverride : HostOverride<BatchNormReduceArgs>
{
    protected override int Grain => 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in BatchNormReduceArgs a)
    {
        BatchNormParams p = a.Geometry;
        float* x = HostMemory.Ptr(a.X), dy = HostMemory.Ptr(a.Dy), stats = HostMemory.Ptr(a.Stats);
        int c = start;
        for (; c + 2 <= end; c += 2)
        {
            float mean0 = stats[c], inv0 = stats[p.C + c], mean1 = stats[c + 1], inv1 = stats[p.C + c + 1];
            double d0 = 0, e0 = 0, d1 = 0, e1 = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                long o = (long)(nn * p.C + c) * p.Plane;
                float* x0 = x + o, g0 = dy + o, x1 = x0 + p.Plane, g1 = g0 + p.Plane;
                for (int s = 0; s < p.Plane; s++)
                {
                    float ga = g0[s], gb = g1[s];
                    d0 += ga; e0 += ga * (x0[s] - mean0) * inv0;
                    d1 += gb; e1 += gb * (x1[s] - mean1) * inv1;
                }
            }
            Finish(c, d0, e0, a);
            Finish(c + 1, d1, e1, a);
        }
        for (; c < end; c++)
        {
            float mean = stats[c], inv = stats[p.C + c];
            double sdy = 0, sdyx = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                long o = (long)(nn * p.C + c) * p.Plane;
                for (int s = 0; s < p.Plane; s++)
                {
                    float g = dy[o + s];
                    sdy += g;
                    sdyx += g * (x[o + s] - mean) * inv;
                }
            }
            Finish(c, sdy, sdyx, a);
        }
    }

    static void Finish(int c, double sdy, double sdyx, in BatchNormReduceArgs a)
    {
        int C = a.Geometry.C;
        float* stats = HostMemory.Ptr(a.Stats), dgamma = HostMemory.Ptr(a.DGamma), dbeta = HostMemory.Ptr(a.DShift);
        float paramBeta = a.ParamBeta;
        stats[2 * C + c] = (float)sdy;
        stats[3 * C + c] = (float)sdyx;
        dgamma[c] = paramBeta == 0f ? (float)sdyx : paramBeta * dgamma[c] + (float)sdyx;
        dbeta[c] = paramBeta == 0f ? (float)sdy : paramBeta * dbeta[c] + (float)sdy;
    }

    protected override HostOverride<BatchNormReduceArgs> Clone() => new BatchNormReduceOverride();
}

/// <summary><see cref="BatchNormKernels.Normalize"/>: y = γ(x − μ)·invstd + β in vectors along each plane.</summary>
internal sealed unsafe class BatchNormNormalizeOverride : HostOverride<BatchNormNormalizeArgs>
{
    protected override int Grain => 32768;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in BatchNormNormalizeArgs a)
    {
        BatchNormParams p = a.Geometry;
        float* x = HostMemory.Ptr(a.X), y = HostMemory.Ptr(a.Y), stats = HostMemory.Ptr(a.Stats);
        float* gamma = HostMemory.Ptr(a.Gamma), shift = HostMemory.Ptr(a.Shift);
        int plane = Math.Max(1, p.Plane);
        for (int e = start; e < end;)
        {
            int r = e / plane, c = r % p.C, len = Math.Min(plane - (e - r * plane), end - e);
            float gc = gamma[c], mc = stats[c], ic = stats[p.C + c], bc = shift[c];
            Vector<float> vg = new(gc), vm = new(mc), vi = new(ic), vs = new(bc);
            int i = e, stop = e + len;
            for (; i <= stop - Vector<float>.Count; i += Vector<float>.Count) (vg * (Vector.Load(x + i) - vm) * vi + vs).Store(y + i);
            for (; i < stop; i++) y[i] = gc * (x[i] - mc) * ic + bc;
            e = stop;
        }
    }

    protected override HostOverride<BatchNormNormalizeArgs> Clone() => new BatchNormNormalizeOverride();
}

/// <summary><see cref="BatchNormKernels.BackwardData"/> in vectors along each plane.</summary>
internal sealed unsafe class BatchNormDataOverride : HostOverride<BatchNormDataArgs>
{
    protected override int Grain => 32768;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in BatchNormDataArgs a)
    {
        BatchNormParams p = a.Geometry;
        float* x = HostMemory.Ptr(a.X), dy = HostMemory.Ptr(a.Dy), dx = HostMemory.Ptr(a.Dx), stats = HostMemory.Ptr(a.Stats), gamma = HostMemory.Ptr(a.Gamma);
        float invM = 1f / (p.N * p.Plane), beta = a.Beta;
        bool training = a.Training != 0;
        int plane = Math.Max(1, p.Plane), w = Vector<float>.Count;
        for (int e = start; e < end;)
        {
            int r = e / plane, c = r % p.C, len = Math.Min(plane - (e - r * plane), end - e);
            float inv = stats[p.C + c], mean = stats[c], s2 = stats[2 * p.C + c], s3 = stats[3 * p.C + c], scale = gamma[c] * inv;
            Vector<float> vinv = new(inv), vmean = new(mean), vs2 = new(s2), vs3 = new(s3), vinvM = new(invM), vscale = new(scale), vbeta = new(beta);
            int i = e, stop = e + len;
            for (; i <= stop - w; i += w)
            {
                var g = Vector.Load(dy + i);
                if (training) g -= (vs2 + (Vector.Load(x + i) - vmean) * vinv * vs3) * vinvM;
                g *= vscale;
                (beta == 0f ? g : vbeta * Vector.Load(dx + i) + g).Store(dx + i);
            }
            for (; i < stop; i++)
            {
                float g = dy[i];
                if (training) g -= (s2 + (x[i] - mean) * inv * s3) * invM;
                g *= scale;
                dx[i] = beta == 0f ? g : beta * dx[i] + g;
            }
            e = stop;
        }
    }

    protected override HostOverride<BatchNormDataArgs> Clone() => new BatchNormDataOverride();
}

/// <summary><see cref="BatchNormKernels.RunningStats"/> (eval): per channel, over host pointers.</summary>
internal sealed unsafe class BatchNormRunningOverride : HostOverride<BatchNormRunningStatsArgs>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in BatchNormRunningStatsArgs a)
    {
        float* stats = HostMemory.Ptr(a.Stats), rm = HostMemory.Ptr(a.RunningMean), rv = HostMemory.Ptr(a.RunningVar);
        for (int c = start; c < end; c++)
        {
            stats[c] = rm[c];
            stats[a.Geometry.C + c] = XMath.Rsqrt(rv[c] + a.Geometry.Eps);
        }
    }

    protected override HostOverride<BatchNormRunningStatsArgs> Clone() => new BatchNormRunningOverride();
}

/// <summary>Registers BatchNorm2d's overrides.</summary>
internal sealed class HostNormOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<BatchNormStatsArgs>(BatchNormKernels.BatchStats, new BatchStatsOverride());
        HostOverrides.Add<BatchNormRunningStatsArgs>(BatchNormKernels.RunningStats, new BatchNormRunningOverride());
        HostOverrides.Add<BatchNormNormalizeArgs>(BatchNormKernels.Normalize, new BatchNormNormalizeOverride());
        HostOverrides.Add<BatchNormReduceArgs>(BatchNormKernels.BackwardReduce, new BatchNormReduceOverride());
        HostOverrides.Add<BatchNormDataArgs>(BatchNormKernels.BackwardData, new BatchNormDataOverride());
    }
}

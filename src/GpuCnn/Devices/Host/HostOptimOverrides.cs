using System.Runtime.CompilerServices;
using System.Numerics;
using GpuCnn.Kernels.Optim;
using ILGPU.Algorithms;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="OptimKernels.Sgd"/> in vectors: each lane runs the body's operations in its order (no fused
/// multiply-add). The weight-decay bound splits the range into a decayed and an undecayed part.
/// </summary>
internal sealed unsafe class SgdOverride : HostOverride<SgdArgs>
{
    protected override int Grain => 65536;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in SgdArgs a)
    {
        float* p = HostMemory.Ptr(a.P), g = HostMemory.Ptr(a.G), v = HostMemory.Ptr(a.V);
        int split = Math.Clamp(a.DecayEnd, start, end);
        Part(p, g, v, start, split, true, a);
        Part(p, g, v, split, end, false, a);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Part(float* p, float* g, float* v, int i, int end, bool decay, in SgdArgs a)
    {
        float lr = a.LearningRate, mu = a.Momentum, wd = a.WeightDecay;
        bool nesterov = a.Nesterov != 0;
        Vector<float> vlr = new(lr), vmu = new(mu), vwd = new(wd);
        for (; i <= end - Vector<float>.Count; i += Vector<float>.Count)
        {
            var pi = Vector.Load(p + i);
            var gi = decay ? Vector.Load(g + i) + vwd * pi : Vector.Load(g + i);
            var vi = vmu * Vector.Load(v + i) + gi;
            vi.Store(v + i);
            (pi - vlr * (nesterov ? gi + vmu * vi : vi)).Store(p + i);
        }
        for (; i < end; i++)
        {
            float gi = decay ? g[i] + wd * p[i] : g[i];
            float vi = mu * v[i] + gi;
            v[i] = vi;
            p[i] -= lr * (nesterov ? gi + mu * vi : vi);
        }
    }

    protected override HostOverride<SgdArgs> Clone() => new SgdOverride();
}

/// <summary><see cref="OptimKernels.Adam"/> and <see cref="OptimKernels.AdamW"/> in vectors, operation for operation.</summary>
internal sealed unsafe class AdamOverride(bool decoupled) : HostOverride<AdamArgs>
{
    protected override int Grain => 65536;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in AdamArgs a)
    {
        int split = Math.Clamp(a.DecayEnd, start, end);
        Part(start, split, true, a);
        Part(split, end, false, a);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Part(int i, int end, bool decay, in AdamArgs a)
    {
        float* p = HostMemory.Ptr(a.P), g = HostMemory.Ptr(a.G), m = HostMemory.Ptr(a.M), v = HostMemory.Ptr(a.V);
        float b1 = a.Beta1, b2 = a.Beta2, c1 = 1f - a.Beta1, c2 = 1f - a.Beta2, lr = a.LearningRate, wd = a.WeightDecay;
        float shrink = 1f - a.LearningRate * a.WeightDecay, bc1 = a.BiasCorrection1, bc2 = a.BiasCorrection2Sqrt, eps = a.Eps;
        Vector<float> vb1 = new(b1), vb2 = new(b2), vc1 = new(c1), vc2 = new(c2), vlr = new(lr), vwd = new(wd), vshrink = new(shrink),
            vbc1 = new(bc1), vbc2 = new(bc2), veps = new(eps);
        for (; i <= end - Vector<float>.Count; i += Vector<float>.Count)
        {
            var pi = Vector.Load(p + i);
            var gi = Vector.Load(g + i);
            if (decay)
            {
                if (decoupled) pi *= vshrink;
                else gi += vwd * pi;
            }
            var mi = vb1 * Vector.Load(m + i) + vc1 * gi;
            var vi = vb2 * Vector.Load(v + i) + vc2 * gi * gi;
            mi.Store(m + i);
            vi.Store(v + i);
            var denom = Vector.SquareRoot(vi) / vbc2 + veps;
            (pi - vlr * (mi / vbc1) / denom).Store(p + i);
        }
        for (; i < end; i++)
        {
            float pi = p[i], gi = g[i];
            if (decay)
            {
                if (decoupled) pi *= shrink;
                else gi += wd * pi;
            }
            float mi = b1 * m[i] + c1 * gi;
            float vi = b2 * v[i] + c2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float denom = XMath.Sqrt(vi) / bc2 + eps;
            p[i] = pi - lr * (mi / bc1) / denom;
        }
    }

    protected override HostOverride<AdamArgs> Clone() => new AdamOverride(decoupled);
}

/// <summary>Registers the optimiser updates' overrides (SGD, Adam, AdamW).</summary>
internal sealed class HostOptimOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<SgdArgs>(OptimKernels.Sgd, new SgdOverride());
        HostOverrides.Add<AdamArgs>(OptimKernels.Adam, new AdamOverride(false));
        HostOverrides.Add<AdamArgs>(OptimKernels.AdamW, new AdamOverride(true));
    }
}

using System.Runtime.CompilerServices;
using GpuCnn.Kernels.Norm;
using ILGPU.Algorithms;

namespace GpuCnn.Devices;

/// <summary>
/// Host overrides of local response normalisation (<see cref="LrnKernels"/>) on the CPU accelerator. The backward body
/// recomputes the window sum and both powers of every neighbour for each element (six powers an element); here each
/// element's s, s^−β and s^−β−1 are computed once per block of positions and reused by its neighbours. Every value
/// is the body's expression evaluated in the body's order, so the bits are the same.
/// </summary>
internal sealed class HostLrnOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<LrnForwardArgs>(LrnKernels.Forward, new HostLrnForward());
        HostOverrides.Add<LrnBackwardArgs>(LrnKernels.Backward, new HostLrnBackward());
    }

    /// <summary>s = k + α/n · Σ x² over channel c's window at position pos, summed in channel order (LrnKernels.Scale).</summary>
    public static unsafe float Scale(float* sample, in LrnParams p, int pos, int c)
    {
        int lo = c - p.Size / 2, hi = c + (p.Size - 1) / 2;
        if (lo < 0) lo = 0;
        if (hi > p.C - 1) hi = p.C - 1;
        float sum = 0f;
        for (int j = lo; j <= hi; j++)
        {
            float v = sample[(long)j * p.Plane + pos];
            sum += v * v;
        }
        return p.K + p.Alpha / p.Size * sum;
    }
}

/// <summary><see cref="LrnKernels.Forward"/>.</summary>
internal sealed unsafe class HostLrnForward : HostOverride<LrnForwardArgs>
{
    /// <inheritdoc/>
    protected override int Grain => 4096;

    /// <inheritdoc/>
    protected override HostOverride<LrnForwardArgs> Clone() => new HostLrnForward();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in LrnForwardArgs a)
    {
        var p = a.Geometry;
        float* x = HostMemory.Ptr(a.X), y = HostMemory.Ptr(a.Y);
        int r = p.ByPlane.DivRem(start, out int pos);
        int sample = p.ByC.DivRem(r, out int c);
        float* xs = x + (long)sample * p.C * p.Plane;
        for (int i = start; i < end; i++)
        {
            y[i] = x[i] * XMath.Pow(HostLrnOverrides.Scale(xs, p, pos, c), -p.Beta);
            if (++pos == p.Plane)
            {
                pos = 0;
                if (++c == p.C) { c = 0; xs += (long)p.C * p.Plane; }
            }
        }
    }
}

/// <summary><see cref="LrnKernels.Backward"/>, a block of positions of the range's channels (and their neighbours) at a time.</summary>
internal sealed unsafe class HostLrnBackward : HostOverride<LrnBackwardArgs>
{
    const int Block = 64;
    [ThreadStatic] static float[]? scratch;

    /// <inheritdoc/>
    protected override int Grain => 4096;

    /// <inheritdoc/>
    protected override HostOverride<LrnBackwardArgs> Clone() => new HostLrnBackward();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in LrnBackwardArgs a)
    {
        var p = a.Geometry;
        float* x = HostMemory.Ptr(a.X), dy = HostMemory.Ptr(a.Dy), dx = HostMemory.Ptr(a.Dx);
        int sampleLen = p.C * p.Plane;
        var buf = scratch is { } b && b.Length >= 2 * p.C * Block ? b : scratch = new float[Math.Max(2 * p.C * Block, 1024)];
        float coeff = 2f * p.Alpha * p.Beta / p.Size; // the body's left-to-right product, before × x[i] × acc
        fixed (float* pw = buf)
            for (int e = start; e < end;)
            {
                int sample = e / sampleLen, i0 = e - sample * sampleLen, i1 = Math.Min(sampleLen, i0 + end - e);
                long sb = (long)sample * sampleLen;
                int c0 = i0 / p.Plane, c1 = (i1 - 1) / p.Plane;
                // Channels whose powers the range's channels read: j ∈ [c − (n−1)/2, c + n/2].
                int j0 = Math.Max(0, c0 - (p.Size - 1) / 2), j1 = Math.Min(p.C - 1, c1 + p.Size / 2);
                for (int q0 = 0; q0 < p.Plane; q0 += Block)
                {
                    int len = Math.Min(Block, p.Plane - q0);
                    // Skip blocks with no element of the range (only the first and last channel are partial).
                    if (c0 == c1 && (q0 + len <= i0 - c0 * p.Plane || q0 >= i1 - c0 * p.Plane)) continue;
                    for (int j = j0; j <= j1; j++)
                    {
                        float* p1 = pw + j * Block, p2 = pw + (p.C + j) * Block;
                        for (int q = 0; q < len; q++)
                        {
                            float s = HostLrnOverrides.Scale(x + sb, p, q0 + q, j);
                            p1[q] = XMath.Pow(s, -p.Beta);
                            p2[q] = XMath.Pow(s, -p.Beta - 1f);
                        }
                    }
                    for (int c = c0; c <= c1; c++)
                    {
                        int lo = Math.Max(0, c - (p.Size - 1) / 2), hi = Math.Min(p.C - 1, c + p.Size / 2);
                        int qa = Math.Max(q0, i0 - c * p.Plane), qb = Math.Min(q0 + len, i1 - c * p.Plane);
                        for (int q = qa; q < qb; q++)
                        {
                            long i = sb + (long)c * p.Plane + q;
                            float g = dy[i] * pw[c * Block + q - q0];
                            float acc = 0f;
                            for (int j = lo; j <= hi; j++)
                            {
                                long jj = sb + (long)j * p.Plane + q;
                                acc += dy[jj] * x[jj] * pw[(p.C + j) * Block + q - q0];
                            }
                            g -= coeff * x[i] * acc;
                            dx[i] = a.Beta == 0f ? g : a.Beta * dx[i] + g;
                        }
                    }
                }
                e += i1 - i0;
            }
    }
}

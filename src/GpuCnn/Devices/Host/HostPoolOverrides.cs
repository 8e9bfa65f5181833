using System.Runtime.CompilerServices;
using GpuCnn.Kernels.Pool;

namespace GpuCnn.Devices;

/// <summary>
/// Host overrides of max/min and average pooling (<see cref="PoolKernels"/>) on the CPU accelerator. Forward walks
/// each window's in-image cells in the body's order. Backward scatters each window's gradient, windows in row-major
/// order, into a zeroed buffer, instead of gathering from every covering window and recomputing its winner: each dx
/// value then adds the same terms, in the same (oy, ox) order, as the body's gather.
/// </summary>
internal sealed class HostPoolOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<SelectForwardArgs<MaxSelect>>(PoolKernels.SelectForward, new HostSelectForward<MaxSelect>());
        HostOverrides.Add<SelectForwardArgs<MinSelect>>(PoolKernels.SelectForward, new HostSelectForward<MinSelect>());
        HostOverrides.Add<SelectBackwardArgs<MaxSelect>>(PoolKernels.SelectBackward, new HostSelectBackward<MaxSelect>());
        HostOverrides.Add<SelectBackwardArgs<MinSelect>>(PoolKernels.SelectBackward, new HostSelectBackward<MinSelect>());
        HostOverrides.Add<AvgForwardArgs>(PoolKernels.AvgForward, new HostAvgForward());
        HostOverrides.Add<AvgBackwardArgs>(PoolKernels.AvgBackward, new HostAvgBackward());
    }
}

/// <summary>Window geometry shared by the pooling overrides, as <see cref="PoolKernels"/> computes it.</summary>
internal static unsafe class HostPoolWindow
{
    /// <summary>The window's in-image rows [y0, y1) and columns [x0, x1) (empty when it holds only padding).</summary>
    public static void Cells(in PoolParams p, int oy, int ox, out int y0, out int y1, out int x0, out int x1)
    {
        int ty = oy * p.SH - p.PH, tx = ox * p.SW - p.PW;
        y0 = Math.Max(ty, 0);
        y1 = Math.Min(ty + p.KH, p.H);
        x0 = Math.Max(tx, 0);
        x1 = Math.Min(tx + p.KW, p.W);
    }

    /// <summary>The plane index of the window's winner (the first cell that <typeparamref name="TSel"/> prefers), or −1.</summary>
    public static int Winner<TSel>(TSel sel, float* plane, in PoolParams p, int oy, int ox) where TSel : struct, IPoolSelect
    {
        if (p.KH == 2 && p.KW == 2 && p.SH == 2 && p.SW == 2 && p.PH == 0 && p.PW == 0 && 2 * oy + 1 < p.H && 2 * ox + 1 < p.W)
        {
            // The common 2×2 stride-2 window, wholly inside: its four cells in the same order, unrolled.
            int i = 2 * (oy * p.W + ox), w = i;
            float v = plane[i];
            if (sel.Better(plane[i + 1], v)) { w = i + 1; v = plane[w]; }
            if (sel.Better(plane[i + p.W], v)) { w = i + p.W; v = plane[w]; }
            if (sel.Better(plane[i + p.W + 1], v)) w = i + p.W + 1;
            return w;
        }
        Cells(p, oy, ox, out int y0, out int y1, out int x0, out int x1);
        int best = -1;
        float bestV = 0f;
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++)
            {
                int idx = iy * p.W + ix;
                float v = plane[idx];
                if (best < 0 || sel.Better(v, bestV)) { best = idx; bestV = v; }
            }
        return best;
    }

    /// <summary>The average window's divisor: its extent clipped to the padded input.</summary>
    public static int Divisor(in PoolParams p, int oy, int ox)
    {
        int y0 = oy * p.SH - p.PH, x0 = ox * p.SW - p.PW;
        int y1 = Math.Min(y0 + p.KH, p.H + p.PH), x1 = Math.Min(x0 + p.KW, p.W + p.PW);
        return (y1 - y0) * (x1 - x0);
    }

    /// <summary>Output rows whose windows can hold input rows [iy0, iy1]: PoolKernels' covering range, clipped to the output.</summary>
    public static void CoveringRows(in PoolParams p, int iy0, int iy1, out int oyLo, out int oyHi)
    {
        int ay = iy0 + p.PH - p.KH + 1;
        oyLo = ay > 0 ? (ay + p.SH - 1) / p.SH : 0;
        oyHi = Math.Min((iy1 + p.PH) / p.SH, p.OH - 1);
    }

    [ThreadStatic] static float[]? buffer;

    /// <summary>A thread's scratch of at least <paramref name="length"/> floats (grown, never shrunk).</summary>
    public static float[] Scratch(int length) =>
        buffer is { } b && b.Length >= length ? b : buffer = new float[Math.Max(length, 1024)];

    /// <summary>
    /// Runs a backward pass over input elements [start, end): per plane, the part of it in the range spans rows
    /// [iy0, iy1]; <paramref name="scatter"/> adds every covering window's terms into acc (row iy0 first), then
    /// dx = beta·dx + acc, or acc when beta is 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TScatter>(ref TScatter scatter, in PoolParams p, int start, int end, float* dx, float beta)
        where TScatter : struct, IPoolScatter
    {
        int hw = p.H * p.W;
        for (int e = start; e < end;)
        {
            int plane = e / hw, i0 = e - plane * hw, i1 = Math.Min(hw, i0 + end - e);
            int iy0 = i0 / p.W, iy1 = (i1 - 1) / p.W;
            var buf = Scratch((iy1 - iy0 + 1) * p.W);
            fixed (float* acc = buf)
            {
                new Span<float>(acc, (iy1 - iy0 + 1) * p.W).Clear();
                CoveringRows(p, iy0, iy1, out int oyLo, out int oyHi);
                scatter.Add(p, plane, oyLo, oyHi, iy0, iy1, acc);
                float* d = dx + e, s = acc + (i0 - iy0 * p.W);
                int len = i1 - i0;
                if (beta == 0f) new ReadOnlySpan<float>(s, len).CopyTo(new Span<float>(d, len));
                else for (int i = 0; i < len; i++) d[i] = beta * d[i] + s[i];
                e += len;
            }
        }
    }
}

/// <summary>One pooling backward's scatter of windows' gradients into rows of a plane (<see cref="HostPoolWindow.Backward"/>).</summary>
internal unsafe interface IPoolScatter
{
    /// <summary>For windows (oy, ox), oy in [oyLo, oyHi] in row-major order, adds their terms for cells in rows [iy0, iy1] to acc.</summary>
    void Add(in PoolParams p, int plane, int oyLo, int oyHi, int iy0, int iy1, float* acc);
}

/// <summary><see cref="PoolKernels.SelectForward{TSel}"/>.</summary>
internal sealed unsafe class HostSelectForward<TSel> : HostOverride<SelectForwardArgs<TSel>> where TSel : struct, IPoolSelect
{
    /// <inheritdoc/>
    protected override HostOverride<SelectForwardArgs<TSel>> Clone() => new HostSelectForward<TSel>();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in SelectForwardArgs<TSel> a)
    {
        var p = a.Geometry;
        float* x = HostMemory.Ptr(a.X), y = HostMemory.Ptr(a.Y);
        if (HostPool2x2.Applies(p))
        {
            HostPool2x2.Forward(a.Op, p, x, y, start, end);
            return;
        }
        int plane = p.ByOW.DivRem(start, out int ox);
        plane = p.ByOH.DivRem(plane, out int oy);
        for (int o = start; o < end; o++)
        {
            float* xp = x + (long)plane * p.H * p.W;
            int w = HostPoolWindow.Winner(a.Op, xp, p, oy, ox);
            y[o] = w < 0 ? 0f : xp[w];
            if (++ox == p.OW) { ox = 0; if (++oy == p.OH) { oy = 0; plane++; } }
        }
    }
}

/// <summary><see cref="PoolKernels.SelectBackward{TSel}"/>: each window's dy goes to its winner.</summary>
internal sealed unsafe class HostSelectBackward<TSel> : HostOverride<SelectBackwardArgs<TSel>> where TSel : struct, IPoolSelect
{
    struct Scatter : IPoolScatter
    {
        public TSel Op;
        public float* X, Dy;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]

        public void Add(in PoolParams p, int plane, int oyLo, int oyHi, int iy0, int iy1, float* acc)
        {
            float* xp = X + (long)plane * p.H * p.W;
            int lo = iy0 * p.W, hi = (iy1 + 1) * p.W;
            for (int oy = oyLo; oy <= oyHi; oy++)
            {
                float* dy = Dy + ((long)plane * p.OH + oy) * p.OW;
                for (int ox = 0; ox < p.OW; ox++)
                {
                    int w = HostPoolWindow.Winner(Op, xp, p, oy, ox);
                    if (w >= lo && w < hi) acc[w - lo] += dy[ox];
                }
            }
        }
    }

    /// <inheritdoc/>
    protected override HostOverride<SelectBackwardArgs<TSel>> Clone() => new HostSelectBackward<TSel>();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in SelectBackwardArgs<TSel> a)
    {
        if (HostPool2x2.Applies(a.Geometry))
        {
            HostPool2x2.Backward(a.Op, a.Geometry, HostMemory.Ptr(a.X), HostMemory.Ptr(a.Dy), HostMemory.Ptr(a.Dx), a.Beta, start, end);
            return;
        }
        var s = new Scatter { Op = a.Op, X = HostMemory.Ptr(a.X), Dy = HostMemory.Ptr(a.Dy) };
        HostPoolWindow.Backward(ref s, a.Geometry, start, end, HostMemory.Ptr(a.Dx), a.Beta);
    }
}

/// <summary><see cref="PoolKernels.AvgForward"/>.</summary>
internal sealed unsafe class HostAvgForward : HostOverride<AvgForwardArgs>
{
    /// <inheritdoc/>
    protected override HostOverride<AvgForwardArgs> Clone() => new HostAvgForward();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in AvgForwardArgs a)
    {
        var p = a.Geometry;
        float* x = HostMemory.Ptr(a.X), y = HostMemory.Ptr(a.Y);
        int plane = p.ByOW.DivRem(start, out int ox);
        plane = p.ByOH.DivRem(plane, out int oy);
        for (int o = start; o < end; o++)
        {
            float* xp = x + (long)plane * p.H * p.W;
            HostPoolWindow.Cells(p, oy, ox, out int y0, out int y1, out int x0, out int x1);
            float acc = 0f;
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) acc += xp[iy * p.W + ix];
            y[o] = acc / HostPoolWindow.Divisor(p, oy, ox);
            if (++ox == p.OW) { ox = 0; if (++oy == p.OH) { oy = 0; plane++; } }
        }
    }
}

/// <summary><see cref="PoolKernels.AvgBackward"/>: each window's dy / divisor goes to its in-image cells.</summary>
internal sealed unsafe class HostAvgBackward : HostOverride<AvgBackwardArgs>
{
    struct Scatter : IPoolScatter
    {
        public float* Dy;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]

        public void Add(in PoolParams p, int plane, int oyLo, int oyHi, int iy0, int iy1, float* acc)
        {
            for (int oy = oyLo; oy <= oyHi; oy++)
            {
                float* dy = Dy + ((long)plane * p.OH + oy) * p.OW;
                for (int ox = 0; ox < p.OW; ox++)
                {
                    HostPoolWindow.Cells(p, oy, ox, out int y0, out int y1, out int x0, out int x1);
                    float v = dy[ox] / HostPoolWindow.Divisor(p, oy, ox);
                    for (int iy = Math.Max(y0, iy0); iy < Math.Min(y1, iy1 + 1); iy++)
                        for (int ix = x0; ix < x1; ix++) acc[(iy - iy0) * p.W + ix] += v;
                }
            }
        }
    }

    /// <inheritdoc/>
    protected override HostOverride<AvgBackwardArgs> Clone() => new HostAvgBackward();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in AvgBackwardArgs a)
    {
        var s = new Scatter { Dy = HostMemory.Ptr(a.Dy) };
        HostPoolWindow.Backward(ref s, a.Geometry, start, end, HostMemory.Ptr(a.Dx), a.Beta);
    }
}

using GpuCnn.Kernels.Random;
using ILGPU;

namespace GpuCnn.Kernels.Pool;

/// <summary>Geometry of a 2-D pooling over NCHW tensors.</summary>
public struct PoolParams
{
    /// <summary>Batch × channels (pooling treats every plane alike).</summary>
    public int Planes;
    /// <summary>Input height and width.</summary>
    public int H, W;
    /// <summary>Output height and width.</summary>
    public int OH, OW;
    /// <summary>Window height and width.</summary>
    public int KH, KW;
    /// <summary>Strides.</summary>
    public int SH, SW;
    /// <summary>Implicit padding (top, left); padded cells never win a max/min and count as zero in an average.</summary>
    public int PH, PW;

    // Filled by Prepare(): every kernel splits a flat index into (plane, row, column) per element, and GPUs have no
    // integer divide instruction (a division is a ~20-instruction routine).
    /// <summary>Division by OW, OH, W, H, SH and SW.</summary>
    public FastDiv ByOW, ByOH, ByW, ByH, BySH, BySW;

    /// <summary>A copy with the divisors set; every pooling kernel needs it.</summary>
    public readonly PoolParams Prepare()
    {
        var p = this;
        p.ByOW = FastDiv.For(Math.Max(1, OW));
        p.ByOH = FastDiv.For(Math.Max(1, OH));
        p.ByW = FastDiv.For(Math.Max(1, W));
        p.ByH = FastDiv.For(Math.Max(1, H));
        p.BySH = FastDiv.For(Math.Max(1, SH));
        p.BySW = FastDiv.For(Math.Max(1, SW));
        return p;
    }
}

/// <summary>Selects the winner of a pooling window: the first element for which <see cref="Better"/> holds.</summary>
public interface IPoolSelect
{
    /// <summary>True when <paramref name="candidate"/> replaces <paramref name="best"/>.</summary>
    bool Better(float candidate, float best);
}

/// <summary>Max pooling: the largest value wins (the first one on ties, as in PyTorch).</summary>
public readonly struct MaxSelect : IPoolSelect
{
    /// <inheritdoc/>
    public bool Better(float candidate, float best) => candidate > best;
}

/// <summary>Min pooling: the smallest value wins (the first one on ties).</summary>
public readonly struct MinSelect : IPoolSelect
{
    /// <inheritdoc/>
    public bool Better(float candidate, float best) => candidate < best;
}

/// <summary>Arguments of <see cref="PoolKernels.SelectForward{TSel}"/>.</summary>
public struct SelectForwardArgs<TSel> where TSel : struct, IPoolSelect
{
    /// <summary>The selection (max or min), as a value.</summary>
    public TSel Op;
    /// <summary>Prepared geometry.</summary>
    public PoolParams Geometry;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
}

/// <summary>Arguments of <see cref="PoolKernels.SelectBackward{TSel}"/>.</summary>
public struct SelectBackwardArgs<TSel> where TSel : struct, IPoolSelect
{
    /// <summary>The selection (max or min), as a value.</summary>
    public TSel Op;
    /// <summary>Prepared geometry.</summary>
    public PoolParams Geometry;
    /// <summary>Forward input (the winners are recomputed from it).</summary>
    public ArrayView<float> X;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Input gradient.</summary>
    public ArrayView<float> Dx;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>
/// Arguments of the average-pooling forwards, <see cref="PoolKernels.AvgForward"/> and
/// <see cref="PoolKernels.AdaptiveAvgForward"/>.
/// </summary>
public struct AvgForwardArgs
{
    /// <summary>Prepared geometry.</summary>
    public PoolParams Geometry;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
}

/// <summary>
/// Arguments of the average-pooling backwards, <see cref="PoolKernels.AvgBackward"/> and
/// <see cref="PoolKernels.AdaptiveAvgBackward"/>.
/// </summary>
public struct AvgBackwardArgs
{
    /// <summary>Prepared geometry.</summary>
    public PoolParams Geometry;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Input gradient.</summary>
    public ArrayView<float> Dx;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>Arguments of <see cref="PoolKernels.StochasticForward"/>.</summary>
public struct StochasticForwardArgs
{
    /// <summary>Prepared geometry.</summary>
    public PoolParams Geometry;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
    /// <summary>Philox key of the layer (seed and layer name).</summary>
    public ulong Key;
    /// <summary>Training step, the second counter word.</summary>
    public ulong Step;
    /// <summary>
    /// Added to the element counter: the batch's first output element in the step's whole batch (non-zero for a micro-batch
    /// or a rank's shard), so a step draws the same numbers however its batch is split.
    /// </summary>
    public ulong Offset;
    /// <summary>1 samples (training), 0 takes the probability-weighted average (eval).</summary>
    public int Training;
}

/// <summary>Arguments of <see cref="PoolKernels.StochasticBackward"/>.</summary>
public struct StochasticBackwardArgs
{
    /// <summary>Prepared geometry.</summary>
    public PoolParams Geometry;
    /// <summary>Forward input (the samples are redrawn from it).</summary>
    public ArrayView<float> X;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Input gradient.</summary>
    public ArrayView<float> Dx;
    /// <summary>Philox key of the layer, as in forward.</summary>
    public ulong Key;
    /// <summary>Training step, as in forward.</summary>
    public ulong Step;
    /// <summary>Output-element counter offset, as in forward.</summary>
    public ulong Offset;
    /// <summary>1 for the sampled (training) gradient, 0 for the weighted average's.</summary>
    public int Training;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>
/// Pooling kernels.
/// <para>Select (max/min): y = x[argsel window]; dx[i] = Σ over windows whose winner is i of dy. Backward recomputes
/// each window's winner instead of storing indices, so it needs no extra buffer and no atomics.</para>
/// <para>Average: y = Σ window / d with d the window clipped to the padded input (PyTorch's count_include_pad);
/// dx[i] = Σ over windows containing i of dy / d.</para>
/// </summary>
public static class PoolKernels
{
    /// <summary>Flat index into the plane of the winner of window (oy, ox), or −1 when the window holds only padding.</summary>
    static int Winner<TSel>(TSel sel, ArrayView<float> x, int planeBase, PoolParams p, int oy, int ox)
        where TSel : struct, IPoolSelect
    {
        int best = -1;
        float bestV = 0f;
        int y0 = oy * p.SH - p.PH, x0 = ox * p.SW - p.PW;
        for (int ky = 0; ky < p.KH; ky++)
        {
            int iy = y0 + ky;
            if (iy < 0 || iy >= p.H) continue;
            for (int kx = 0; kx < p.KW; kx++)
            {
                int ix = x0 + kx;
                if (ix < 0 || ix >= p.W) continue;
                int idx = iy * p.W + ix;
                float v = x[planeBase + idx];
                if (best < 0 || sel.Better(v, bestV)) { best = idx; bestV = v; }
            }
        }
        return best;
    }

    /// <summary>Max/min pooling forward; one output per iteration.</summary>
    public static void SelectForward<TSel>(Index1D t, int n, int chunk, SelectForwardArgs<TSel> a)
        where TSel : struct, IPoolSelect
    {
        PoolParams p = a.Geometry;
        var x = a.X;
        int end = Chunk.End(t, chunk, n);
        for (int o = Chunk.Start(t, chunk); o < end; o++)
        {
            int r = p.ByOW.DivRem(o, out int ox);
            int plane = p.ByOH.DivRem(r, out int oy);
            int pb = plane * p.H * p.W;
            int w = Winner(a.Op, x, pb, p, oy, ox);
            a.Y[o] = w < 0 ? 0f : x[pb + w];
        }
    }

    /// <summary>Max/min pooling backward; one input element per iteration, gathering from the windows that hold it.</summary>
    public static void SelectBackward<TSel>(Index1D t, int n, int chunk, SelectBackwardArgs<TSel> a)
        where TSel : struct, IPoolSelect
    {
        PoolParams p = a.Geometry;
        var dy = a.Dy;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByW.DivRem(i, out int ix);
            int plane = p.ByH.DivRem(r, out int iy);
            int pb = plane * p.H * p.W;
            int self = iy * p.W + ix;
            float acc = 0f;
            Covering(p, iy, ix, out int oyLo, out int oyHi, out int oxLo, out int oxHi);
            for (int oy = oyLo; oy <= oyHi; oy++)
                for (int ox = oxLo; ox <= oxHi; ox++)
                    if (Winner(a.Op, a.X, pb, p, oy, ox) == self)
                        acc += dy[(plane * p.OH + oy) * p.OW + ox];
            a.Dx[i] = a.Beta == 0f ? acc : a.Beta * a.Dx[i] + acc;
        }
    }

    /// <summary>Divisor of window (oy, ox): its extent clipped to the padded input.</summary>
    static int AvgDivisor(PoolParams p, int oy, int ox)
    {
        int y0 = oy * p.SH - p.PH, x0 = ox * p.SW - p.PW;
        int y1 = y0 + p.KH, x1 = x0 + p.KW;
        if (y1 > p.H + p.PH) y1 = p.H + p.PH;
        if (x1 > p.W + p.PW) x1 = p.W + p.PW;
        return (y1 - y0) * (x1 - x0);
    }

    /// <summary>Average pooling forward; one output per iteration.</summary>
    public static void AvgForward(Index1D t, int n, int chunk, AvgForwardArgs a)
    {
        PoolParams p = a.Geometry;
        var x = a.X;
        int end = Chunk.End(t, chunk, n);
        for (int o = Chunk.Start(t, chunk); o < end; o++)
        {
            int r = p.ByOW.DivRem(o, out int ox);
            int plane = p.ByOH.DivRem(r, out int oy);
            int pb = plane * p.H * p.W;
            int y0 = oy * p.SH - p.PH, x0 = ox * p.SW - p.PW;
            float acc = 0f;
            for (int ky = 0; ky < p.KH; ky++)
            {
                int iy = y0 + ky;
                if (iy < 0 || iy >= p.H) continue;
                for (int kx = 0; kx < p.KW; kx++)
                {
                    int ix = x0 + kx;
                    if (ix < 0 || ix >= p.W) continue;
                    acc += x[pb + iy * p.W + ix];
                }
            }
            a.Y[o] = acc / AvgDivisor(p, oy, ox);
        }
    }

    /// <summary>Average pooling backward; one input element per iteration.</summary>
    public static void AvgBackward(Index1D t, int n, int chunk, AvgBackwardArgs a)
    {
        PoolParams p = a.Geometry;
        var dy = a.Dy;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByW.DivRem(i, out int ix);
            int plane = p.ByH.DivRem(r, out int iy);
            float acc = 0f;
            Covering(p, iy, ix, out int oyLo, out int oyHi, out int oxLo, out int oxHi);
            for (int oy = oyLo; oy <= oyHi; oy++)
                for (int ox = oxLo; ox <= oxHi; ox++)
                    acc += dy[(plane * p.OH + oy) * p.OW + ox] / AvgDivisor(p, oy, ox);
            a.Dx[i] = a.Beta == 0f ? acc : a.Beta * a.Dx[i] + acc;
        }
    }

    /// <summary>
    /// Stochastic pooling (Zeiler and Fergus 2013). Training samples one element per window with probability
    /// p_i = a_i⁺ / Σ a⁺ (a⁺ = max(a, 0)) from u = Philox(key, (output index, step)); the gradient flows to it.
    /// Eval returns the probability-weighted average Σ a⁺² / Σ a⁺, whose derivative is (2 a_i⁺ S − Q) / S²
    /// with S = Σ a⁺, Q = Σ a⁺². A window without positive values yields 0.
    /// Returns the sampled flat index in the plane (training), or −1.
    /// </summary>
    static int Sample(ArrayView<float> x, int planeBase, PoolParams p, int oy, int ox, float u, out float s, out float q)
    {
        s = 0f;
        q = 0f;
        int y0 = oy * p.SH - p.PH, x0 = ox * p.SW - p.PW;
        for (int ky = 0; ky < p.KH; ky++)
        {
            int iy = y0 + ky;
            if (iy < 0 || iy >= p.H) continue;
            for (int kx = 0; kx < p.KW; kx++)
            {
                int ix = x0 + kx;
                if (ix < 0 || ix >= p.W) continue;
                float v = x[planeBase + iy * p.W + ix];
                if (v > 0f) { s += v; q += v * v; }
            }
        }
        if (!(s > 0f)) return -1;
        float target = u * s, cum = 0f;
        int last = -1;
        for (int ky = 0; ky < p.KH; ky++)
        {
            int iy = y0 + ky;
            if (iy < 0 || iy >= p.H) continue;
            for (int kx = 0; kx < p.KW; kx++)
            {
                int ix = x0 + kx;
                if (ix < 0 || ix >= p.W) continue;
                float v = x[planeBase + iy * p.W + ix];
                if (v <= 0f) continue;
                cum += v;
                last = iy * p.W + ix;
                if (cum > target) return last;
            }
        }
        return last; // rounding left target at the very top: the last positive element
    }

    /// <summary>Stochastic pooling forward; <see cref="StochasticForwardArgs.Training"/> selects sampling (1) or the weighted average (0).</summary>
    public static void StochasticForward(Index1D t, int n, int chunk, StochasticForwardArgs a)
    {
        PoolParams p = a.Geometry;
        var x = a.X;
        int training = a.Training;
        int end = Chunk.End(t, chunk, n);
        for (int o = Chunk.Start(t, chunk); o < end; o++)
        {
            int r = p.ByOW.DivRem(o, out int ox);
            int plane = p.ByOH.DivRem(r, out int oy);
            int pb = plane * p.H * p.W;
            float u = training != 0 ? Philox4x32.Uniform(a.Key, (ulong)o + a.Offset, a.Step) : 0f;
            int w = Sample(x, pb, p, oy, ox, u, out float s, out float q);
            a.Y[o] = w < 0 ? 0f : training != 0 ? x[pb + w] : q / s;
        }
    }

    /// <summary>Stochastic pooling backward; one input element per iteration, gathering from the windows that hold it.</summary>
    public static void StochasticBackward(Index1D t, int n, int chunk, StochasticBackwardArgs a)
    {
        PoolParams p = a.Geometry;
        var x = a.X;
        var dy = a.Dy;
        int training = a.Training;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByW.DivRem(i, out int ix);
            int plane = p.ByH.DivRem(r, out int iy);
            int pb = plane * p.H * p.W;
            int self = iy * p.W + ix;
            float xi = x[i];
            float acc = 0f;
            Covering(p, iy, ix, out int oyLo, out int oyHi, out int oxLo, out int oxHi);
            if (xi > 0f)
                for (int oy = oyLo; oy <= oyHi; oy++)
                    for (int ox = oxLo; ox <= oxHi; ox++)
                    {
                        int o = (plane * p.OH + oy) * p.OW + ox;
                        float u = training != 0 ? Philox4x32.Uniform(a.Key, (ulong)o + a.Offset, a.Step) : 0f;
                        int w = Sample(x, pb, p, oy, ox, u, out float s, out float q);
                        if (w < 0) continue;
                        if (training != 0) { if (w == self) acc += dy[o]; }
                        else acc += dy[o] * (2f * xi * s - q) / (s * s);
                    }
            a.Dx[i] = a.Beta == 0f ? acc : a.Beta * a.Dx[i] + acc;
        }
    }

    /// <summary>
    /// Adaptive average pooling (<c>torch.nn.AdaptiveAvgPool2d</c>): output cell (oy, ox) averages rows
    /// [⌊oy·H/OH⌋, ⌈(oy+1)·H/OH⌉) and the matching columns; windows may overlap. Only H, W, OH, OW and Planes are used.
    /// </summary>
    public static void AdaptiveAvgForward(Index1D t, int n, int chunk, AvgForwardArgs a)
    {
        PoolParams p = a.Geometry;
        var x = a.X;
        int end = Chunk.End(t, chunk, n);
        for (int o = Chunk.Start(t, chunk); o < end; o++)
        {
            int r = p.ByOW.DivRem(o, out int ox);
            int plane = p.ByOH.DivRem(r, out int oy);
            int pb = plane * p.H * p.W;
            int y0 = p.ByOH.Div(oy * p.H), y1 = p.ByOH.Div((oy + 1) * p.H + p.OH - 1);
            int x0 = p.ByOW.Div(ox * p.W), x1 = p.ByOW.Div((ox + 1) * p.W + p.OW - 1);
            float acc = 0f;
            for (int iy = y0; iy < y1; iy++)
                for (int ix = x0; ix < x1; ix++) acc += x[pb + iy * p.W + ix];
            a.Y[o] = acc / ((y1 - y0) * (x1 - x0));
        }
    }

    /// <summary>Adaptive average pooling backward; one input element per iteration over the (few) windows holding it.</summary>
    public static void AdaptiveAvgBackward(Index1D t, int n, int chunk, AvgBackwardArgs a)
    {
        PoolParams p = a.Geometry;
        var dy = a.Dy;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByW.DivRem(i, out int ix);
            int plane = p.ByH.DivRem(r, out int iy);
            float acc = 0f;
            for (int oy = 0; oy < p.OH; oy++)
            {
                int y0 = p.ByOH.Div(oy * p.H), y1 = p.ByOH.Div((oy + 1) * p.H + p.OH - 1);
                if (iy < y0 || iy >= y1) continue;
                for (int ox = 0; ox < p.OW; ox++)
                {
                    int x0 = p.ByOW.Div(ox * p.W), x1 = p.ByOW.Div((ox + 1) * p.W + p.OW - 1);
                    if (ix < x0 || ix >= x1) continue;
                    acc += dy[(plane * p.OH + oy) * p.OW + ox] / ((y1 - y0) * (x1 - x0));
                }
            }
            a.Dx[i] = a.Beta == 0f ? acc : a.Beta * a.Dx[i] + acc;
        }
    }

    /// <summary>
    /// The output windows that contain input pixel (iy, ix): oy with oy·SH − PH ≤ iy ≤ oy·SH − PH + KH − 1, clipped to
    /// the output (likewise ox). Backward kernels gather over exactly these.
    /// </summary>
    static void Covering(PoolParams p, int iy, int ix, out int oyLo, out int oyHi, out int oxLo, out int oxHi)
    {
        // ⌈a / s⌉ for a ≤ 0 is ≤ 0 and clips to 0, so only a positive numerator needs the (unsigned) division.
        int ay = iy + p.PH - p.KH + 1, ax = ix + p.PW - p.KW + 1;
        oyLo = ay > 0 ? p.BySH.Div(ay + p.SH - 1) : 0;
        oxLo = ax > 0 ? p.BySW.Div(ax + p.SW - 1) : 0;
        oyHi = p.BySH.Div(iy + p.PH);
        oxHi = p.BySW.Div(ix + p.PW);
        if (oyHi >= p.OH) oyHi = p.OH - 1;
        if (oxHi >= p.OW) oxHi = p.OW - 1;
    }
}

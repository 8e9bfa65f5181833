using System.Numerics;
using System.Runtime.CompilerServices;
using GpuCnn.Kernels.Conv;

namespace GpuCnn.Devices;

/// <summary>
/// Host overrides of the convolution kernels the blocked and SIMD families launch on the CPU accelerator: the im2col
/// lowering (<see cref="LoweringKernels.Im2ColRows"/>) and its adjoint (<see cref="LoweringKernels.Col2Im"/>); the
/// bias gradient's is in <see cref="HostBiasOverrides"/>. The ILGPU bodies pay for every view access on the host; these
/// walk rows through pointers. Copies are exact, and every sum adds the same terms in the same order as its body.
/// </summary>
internal sealed class HostLoweringOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<Im2ColArgs>(LoweringKernels.Im2ColRows, new HostIm2ColRows());
        HostOverrides.Add<Col2ImArgs>(LoweringKernels.Col2Im, new HostCol2Im());
    }
}

/// <summary><see cref="LoweringKernels.Im2ColRows"/>: each element is one row of OW lowered values, a copy of an input row segment.</summary>
internal sealed unsafe class HostIm2ColRows : HostOverride<Im2ColArgs>
{
    /// <inheritdoc/>
    protected override int Grain => 512;

    /// <inheritdoc/>
    protected override HostOverride<Im2ColArgs> Clone() => new HostIm2ColRows();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in Im2ColArgs a)
    {
        var p = a.P;
        float* x = HostMemory.Ptr(a.X), col = HostMemory.Ptr(a.Col);
        int ow = p.OW;
        // Iterations e .. e + OH − 1 − oy share one tap row and image: decompose once per run of output rows.
        for (int e = start; e < end;)
        {
            int r = p.ByOH.DivRem(e, out int oy0);
            int q = p.ByN.DivRem(r, out int img);
            int g = p.ByRows.DivRem(q, out int row);
            int ci = p.ByTaps.DivRem(row, out int tap);
            int ky = p.ByKW.DivRem(tap, out int kx);
            int oy1 = Math.Min(p.OH, oy0 + end - e);
            float* plane = x + (long)(img * p.C + g * p.Cg + ci) * p.H * p.W, dst = col + (long)e * ow;
            int ix0 = kx * p.DW - p.PW;
            // Output columns [lo, hi) read inside the input row when the stride is 1; the rest are padding.
            int lo = Math.Clamp(-ix0, 0, ow), hi = Math.Clamp(p.W - ix0, lo, ow);
            for (int oy = oy0; oy < oy1; oy++, dst += ow)
            {
                int iy = oy * p.SH - p.PH + ky * p.DH;
                if (iy < 0 || iy >= p.H)
                {
                    new Span<float>(dst, ow).Clear();
                    continue;
                }
                float* src = plane + (long)iy * p.W;
                if (p.SW == 1)
                {
                    for (int ox = 0; ox < lo; ox++) dst[ox] = 0f;
                    Buffer.MemoryCopy(src + ix0 + lo, dst + lo, (hi - lo) * 4L, (hi - lo) * 4L);
                    for (int ox = hi; ox < ow; ox++) dst[ox] = 0f;
                    continue;
                }
                int ix = ix0;
                for (int ox = 0; ox < ow; ox++, ix += p.SW)
                    dst[ox] = ix >= 0 && ix < p.W ? src[ix] : 0f;
            }
            e += oy1 - oy0;
        }
    }
}

/// <summary>
/// <see cref="LoweringKernels.Col2Im"/>: dx a row segment at a time. The row's sums are accumulated tap by tap in the
/// body's (ky, kx) order, so each dx value adds the same terms in the same order; a vector of consecutive x positions
/// reads consecutive output columns when the stride is 1.
/// </summary>
internal sealed unsafe class HostCol2Im : HostOverride<Col2ImArgs>
{
    [ThreadStatic] static float[]? rowBuffer;

    /// <inheritdoc/>
    protected override int Grain => 4096;

    /// <inheritdoc/>
    protected override HostOverride<Col2ImArgs> Clone() => new HostCol2Im();

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in Col2ImArgs a)
    {
        var p = a.P;
        float* cg = HostMemory.Ptr(a.ColGrad), dx = HostMemory.Ptr(a.Dx);
        var buf = rowBuffer is { } b && b.Length >= p.W ? b : rowBuffer = new float[Math.Max(p.W, 64)];
        fixed (float* acc = buf)
            for (int e = start; e < end;)
            {
                int r1 = p.ByW.DivRem(e, out int x0);
                int x1 = Math.Min(p.W, x0 + end - e);
                Segment(p, cg, r1, x0, x1, acc);
                float* d = dx + e;
                int len = x1 - x0;
                if (a.Beta == 0f) new ReadOnlySpan<float>(acc, len).CopyTo(new Span<float>(d, len));
                else for (int i = 0; i < len; i++) d[i] = acc[i] + a.Beta * d[i];
                e += len;
            }
    }

    /// <summary>acc[0 .. x1 − x0) = the gathered sums of dx row r1 = (img·C + c)·H + y, columns [x0, x1).</summary>
    static void Segment(in ConvParams p, float* cg, int r1, int x0, int x1, float* acc)
    {
        int r2 = p.ByH.DivRem(r1, out int y);
        int img = p.ByC.DivRem(r2, out int c);
        int g = p.ByCg.DivRem(c, out int ci);
        int rowBase = g * p.ByRows.D + ci * p.ByTaps.D, plane = p.ByOutPlane.D, np = p.ByColumns.D;
        new Span<float>(acc, x1 - x0).Clear();
        for (int ky = 0; ky < p.KH; ky++)
        {
            int ty = y + p.PH - ky * p.DH;
            if (ty < 0) break;
            int oy = ty / p.SH;
            if (oy * p.SH != ty || oy >= p.OH) continue;
            for (int kx = 0; kx < p.KW; kx++)
            {
                // Column xw reads output column ox = (xw + PW − kx·DW) / SW where that is integral and in [0, OW).
                int shift = p.PW - kx * p.DW;
                float* src = cg + (long)(rowBase + ky * p.KW + kx) * np + img * plane + oy * p.OW;
                int lo = Math.Max(x0, -shift), hi = Math.Min(x1, p.OW * p.SW - shift);
                if (p.SW == 1)
                {
                    Add(acc + (lo - x0), src + lo + shift, hi - lo);
                    continue;
                }
                int rem = (lo + shift) % p.SW;
                if (rem != 0) lo += p.SW - rem;
                for (int xw = lo; xw < hi; xw += p.SW) acc[xw - x0] += src[(xw + shift) / p.SW];
            }
        }
    }

    /// <summary>acc[i] += src[i] for i &lt; len (each sum one IEEE addition, as in the body).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Add(float* acc, float* src, int len)
    {
        int i = 0;
        for (; i <= len - Vector<float>.Count; i += Vector<float>.Count)
            Vector.Store(Vector.Load(acc + i) + Vector.Load(src + i), acc + i);
        for (; i < len; i++) acc[i] += src[i];
    }
}

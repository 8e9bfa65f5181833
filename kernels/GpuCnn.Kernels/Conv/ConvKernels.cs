using ILGPU;

namespace GpuCnn.Kernels.Conv;

/// <summary>
/// Arguments of <see cref="ConvKernels.Forward"/> and <see cref="ConvKernels.PointwiseForward"/>:
/// y = act(bias + w ⋆ x).
/// </summary>
public struct ConvForwardArgs
{
    /// <summary>Prepared geometry.</summary>
    public ConvParams P;
    /// <summary>Input x (NCHW) and weights w (K × C/G × KH × KW).</summary>
    public ArrayView<float> X, W;
    /// <summary>Bias per output channel, read only when <see cref="BiasMode"/> is PerRow.</summary>
    public ArrayView<float> Bias;
    /// <summary>PerRow (per output channel) or None.</summary>
    public BiasMode BiasMode;
    /// <summary>Applied last (an activation fused into the convolution).</summary>
    public FusedActivation Activation;
    /// <summary>Output y (NKHW).</summary>
    public ArrayView<float> Y;
}

/// <summary>Arguments of <see cref="ConvKernels.BackwardData"/> and <see cref="ConvKernels.PointwiseBackwardData"/>.</summary>
public struct ConvDataGradArgs
{
    /// <summary>Prepared geometry.</summary>
    public ConvParams P;
    /// <summary>Output gradient dy and weights w.</summary>
    public ArrayView<float> Dy, W;
    /// <summary>Input gradient dx.</summary>
    public ArrayView<float> Dx;
    /// <summary>Scale of the old dx; 0 overwrites.</summary>
    public float Beta;
}

/// <summary>Arguments of <see cref="ConvKernels.BackwardFilter"/> and <see cref="ConvKernels.PointwiseBackwardFilter"/>.</summary>
public struct ConvFilterGradArgs
{
    /// <summary>Prepared geometry.</summary>
    public ConvParams P;
    /// <summary>Input x and output gradient dy.</summary>
    public ArrayView<float> X, Dy;
    /// <summary>Weight gradient dw.</summary>
    public ArrayView<float> Dw;
    /// <summary>Scale of the old dw; 0 overwrites.</summary>
    public float Beta;
}

/// <summary>Arguments of <see cref="ConvKernels.BackwardBias"/>.</summary>
public struct ConvBiasGradArgs
{
    /// <summary>Prepared geometry.</summary>
    public ConvParams P;
    /// <summary>Output gradient dy.</summary>
    public ArrayView<float> Dy;
    /// <summary>Bias gradient db.</summary>
    public ArrayView<float> Db;
    /// <summary>Scale of the old db; 0 overwrites.</summary>
    public float Beta;
}

/// <summary>
/// Direct 2-D convolution (cross-correlation, as in PyTorch) with stride, padding, dilation and groups.
/// <para>Forward: y[n,k,oy,ox] = b[k] + Σ_{c∈g(k), ky, kx} w[k, c-c0, ky, kx] · x[n, c, oy·SH−PH+ky·DH, ox·SW−PW+kx·DW]
/// (zero outside the input).</para>
/// <para>Backward data: dx[n,c,iy,ix] = Σ over (k, ky, kx) with oy = (iy+PH−ky·DH)/SH integral and in range of
/// dy[n,k,oy,ox] · w[k,c−c0,ky,kx]. It gathers, so it needs no atomics.</para>
/// <para>Backward filter: dw[k,c,ky,kx] = Σ_{n,oy,ox} dy[n,k,oy,ox] · x[n, c0+c, oy·SH−PH+ky·DH, ox·SW−PW+kx·DW];
/// bias: db[k] = Σ_{n,oy,ox} dy[n,k,oy,ox].</para>
/// Every gradient kernel computes <c>out = beta·out + grad</c>, so several consumers of one tensor can accumulate.
/// Index arithmetic divides through the <see cref="ConvParams.Prepare"/> divisors (<see cref="FastDiv"/>), so the
/// parameters must be prepared.
/// </summary>
public static class ConvKernels
{
    /// <summary>Forward pass; one output element per loop iteration, n = N·K·OH·OW.</summary>
    public static void Forward(Index1D t, int n, int chunk, ConvForwardArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> x = a.X, w = a.W, b = a.Bias, y = a.Y;
        int cpg = p.Cg;
        for (int o = Chunk.Start(t, chunk); o < end; o++)
        {
            int r = p.ByOW.DivRem(o, out int ox);
            int q = p.ByOH.DivRem(r, out int oy);
            int nn = p.ByK.DivRem(q, out int k);
            int c0 = p.ByKg.Div(k) * cpg;
            float acc = a.BiasMode != BiasMode.None ? b[k] : 0f;
            int iy0 = oy * p.SH - p.PH, ix0 = ox * p.SW - p.PW;
            // Kernel taps that land inside the input; clipping once keeps the inner loop free of bounds tests.
            int kyLo = CeilDivNonNeg(-iy0, p.ByDH), kyHi = FloorDivClamp(p.H - 1 - iy0, p.ByDH, p.KH - 1);
            int kxLo = CeilDivNonNeg(-ix0, p.ByDW), kxHi = FloorDivClamp(p.W - 1 - ix0, p.ByDW, p.KW - 1);
            for (int c = 0; c < cpg; c++)
            {
                int xBase = ((nn * p.C + c0 + c) * p.H) * p.W + ix0;
                int wBase = ((k * cpg + c) * p.KH) * p.KW;
                for (int ky = kyLo; ky <= kyHi; ky++)
                {
                    int xRow = xBase + (iy0 + ky * p.DH) * p.W;
                    int wRow = wBase + ky * p.KW;
                    for (int kx = kxLo; kx <= kxHi; kx++)
                        acc += w[wRow + kx] * x[xRow + kx * p.DW];
                }
            }
            y[o] = a.Activation.Apply(acc);
        }
    }

    /// <summary>Gradient with respect to the input; one input element per loop iteration, n = N·C·H·W.</summary>
    public static void BackwardData(Index1D t, int n, int chunk, ConvDataGradArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> dy = a.Dy, w = a.W, dx = a.Dx;
        float beta = a.Beta;
        int cpg = p.Cg, kpg = p.Kg;
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByW.DivRem(i, out int ix);
            int q = p.ByH.DivRem(r, out int iy);
            int nn = p.ByC.DivRem(q, out int c);
            int g = p.ByCg.Div(c);
            int cg = c - g * cpg;
            // Only output rows/columns whose window covers (iy, ix) contribute: oy·SH − PH + ky·DH = iy for some
            // ky in [0, KH), so oy ∈ [⌈(iy + PH − DH·(KH−1)) / SH⌉, ⌊(iy + PH) / SH⌋]. Iterating that range directly
            // avoids testing every (ky, kx) against the stride.
            int ty0 = iy + p.PH, tx0 = ix + p.PW;
            int oyLo = CeilDivNonNeg(ty0 - p.DH * (p.KH - 1), p.BySH), oyHi = p.BySH.Div(ty0);
            int oxLo = CeilDivNonNeg(tx0 - p.DW * (p.KW - 1), p.BySW), oxHi = p.BySW.Div(tx0);
            if (oyHi >= p.OH) oyHi = p.OH - 1;
            if (oxHi >= p.OW) oxHi = p.OW - 1;
            float acc = 0f;
            for (int kk = 0; kk < kpg; kk++)
            {
                int k = g * kpg + kk;
                int dyBase = ((nn * p.K + k) * p.OH) * p.OW;
                int wBase = ((k * cpg + cg) * p.KH) * p.KW;
                for (int oy = oyLo; oy <= oyHi; oy++)
                {
                    int ty = ty0 - oy * p.SH;
                    int ky = p.ByDH.Div(ty); // 0 ≤ ty ≤ DH·(KH−1) on this range of oy
                    if (ky * p.DH != ty) continue;
                    int dyRow = dyBase + oy * p.OW;
                    int wRow = wBase + ky * p.KW;
                    for (int ox = oxLo; ox <= oxHi; ox++)
                    {
                        int tx = tx0 - ox * p.SW;
                        int kx = p.ByDW.Div(tx);
                        if (kx * p.DW != tx) continue;
                        acc += dy[dyRow + ox] * w[wRow + kx];
                    }
                }
            }
            dx[i] = beta == 0f ? acc : beta * dx[i] + acc;
        }
    }

    /// <summary>
    /// Pointwise (1×1, stride 1, no padding) convolution forward, a channel-mixing matrix product per pixel:
    /// y[n,k,s] = b[k] + Σ_c w[k,c] · x[n,c0+c,s]. No tap loops and no bounds tests.
    /// </summary>
    public static void PointwiseForward(Index1D t, int n, int chunk, ConvForwardArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> x = a.X, w = a.W, b = a.Bias, y = a.Y;
        int cpg = p.Cg, plane = p.H * p.W;
        for (int o = Chunk.Start(t, chunk); o < end; o++)
        {
            int r = p.ByPlane.DivRem(o, out int s);
            int nn = p.ByK.DivRem(r, out int k);
            int xi = (nn * p.C + p.ByKg.Div(k) * cpg) * plane + s, wi = k * cpg;
            float acc = a.BiasMode != BiasMode.None ? b[k] : 0f;
            for (int c = 0; c < cpg; c++, xi += plane) acc += w[wi + c] * x[xi];
            y[o] = a.Activation.Apply(acc);
        }
    }

    /// <summary>Pointwise convolution data gradient: dx[n,c,s] = Σ_k w[k,c−c0] · dy[n,k,s] over the group's k.</summary>
    public static void PointwiseBackwardData(Index1D t, int n, int chunk, ConvDataGradArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> dy = a.Dy, w = a.W, dx = a.Dx;
        float beta = a.Beta;
        int cpg = p.Cg, kpg = p.Kg, plane = p.H * p.W;
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByPlane.DivRem(i, out int s);
            int nn = p.ByC.DivRem(r, out int c);
            int g = p.ByCg.Div(c), k0 = g * kpg;
            int di = (nn * p.K + k0) * plane + s, wi = k0 * cpg + (c - g * cpg);
            float acc = 0f;
            for (int kk = 0; kk < kpg; kk++, di += plane, wi += cpg) acc += dy[di] * w[wi];
            dx[i] = beta == 0f ? acc : beta * dx[i] + acc;
        }
    }

    /// <summary>Pointwise convolution filter gradient: dw[k,c] = Σ_{n,s} dy[n,k,s] · x[n,c0+c,s].</summary>
    public static void PointwiseBackwardFilter(Index1D t, int n, int chunk, ConvFilterGradArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> x = a.X, dy = a.Dy, dw = a.Dw;
        float beta = a.Beta;
        int cpg = p.Cg, plane = p.H * p.W;
        for (int j = Chunk.Start(t, chunk); j < end; j++)
        {
            int k = p.ByCg.DivRem(j, out int cg);
            int c = p.ByKg.Div(k) * cpg + cg;
            float acc = 0f;
            for (int nn = 0; nn < p.N; nn++)
            {
                int di = (nn * p.K + k) * plane, xi = (nn * p.C + c) * plane;
                for (int s = 0; s < plane; s++) acc += dy[di + s] * x[xi + s];
            }
            dw[j] = beta == 0f ? acc : beta * dw[j] + acc;
        }
    }

    /// <summary>min(⌊a / b⌋, max); −1 (an empty range) when a &lt; 0.</summary>
    static int FloorDivClamp(int a, FastDiv b, int max)
    {
        if (a < 0) return -1;
        int q = b.Div(a);
        return q < max ? q : max;
    }

    /// <summary>⌈a / b⌉ clamped below at 0.</summary>
    static int CeilDivNonNeg(int a, FastDiv b) => a <= 0 ? 0 : b.Div(a + b.D - 1);

    /// <summary>Gradient with respect to the filters (K × C/G × KH × KW); one weight per loop iteration.</summary>
    public static void BackwardFilter(Index1D t, int n, int chunk, ConvFilterGradArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> x = a.X, dy = a.Dy, dw = a.Dw;
        float beta = a.Beta;
        int cpg = p.Cg;
        for (int j = Chunk.Start(t, chunk); j < end; j++)
        {
            int r = p.ByKW.DivRem(j, out int kx);
            int q = p.ByKH.DivRem(r, out int ky);
            int k = p.ByCg.DivRem(q, out int cg);
            int c = p.ByKg.Div(k) * cpg + cg;
            float acc = 0f;
            // Output positions whose tap (ky, kx) lands inside the input: iy = oy·SH − PH + ky·DH ∈ [0, H).
            int offY = ky * p.DH - p.PH, offX = kx * p.DW - p.PW;
            int oyLo = CeilDivNonNeg(-offY, p.BySH), oyHi = FloorDivClamp(p.H - 1 - offY, p.BySH, p.OH - 1);
            int oxLo = CeilDivNonNeg(-offX, p.BySW), oxHi = FloorDivClamp(p.W - 1 - offX, p.BySW, p.OW - 1);
            for (int nn = 0; nn < p.N; nn++)
            {
                int dyBase = ((nn * p.K + k) * p.OH) * p.OW;
                int xBase = ((nn * p.C + c) * p.H) * p.W + offX;
                for (int oy = oyLo; oy <= oyHi; oy++)
                {
                    int dyRow = dyBase + oy * p.OW;
                    int xRow = xBase + (oy * p.SH + offY) * p.W;
                    for (int ox = oxLo; ox <= oxHi; ox++)
                        acc += dy[dyRow + ox] * x[xRow + ox * p.SW];
                }
            }
            dw[j] = beta == 0f ? acc : beta * dw[j] + acc;
        }
    }

    /// <summary>Gradient with respect to the bias: the sum of dy over batch and space, one channel per iteration.</summary>
    public static void BackwardBias(Index1D t, int n, int chunk, ConvBiasGradArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> dy = a.Dy, db = a.Db;
        float beta = a.Beta;
        int plane = p.OH * p.OW;
        for (int k = Chunk.Start(t, chunk); k < end; k++)
        {
            float acc = 0f;
            for (int nn = 0; nn < p.N; nn++)
            {
                int b = (nn * p.K + k) * plane;
                for (int s = 0; s < plane; s++) acc += dy[b + s];
            }
            db[k] = beta == 0f ? acc : beta * db[k] + acc;
        }
    }
}

using ILGPU;

namespace GpuCnn.Kernels.Conv;

/// <summary>
/// Direct 2-D convolution (cross-correlation, as in PyTorch) with stride, padding, dilation and groups.
/// <para>Forward: y[n,k,oy,ox] = b[k] + Σ_{c∈g(k), ky, kx} w[k, c-c0, ky, kx] · x[n, c, oy·SH−PH+ky·DH, ox·SW−PW+kx·DW]
/// (zero outside the input).</para>
/// <para>Backward data: dx[n,c,iy,ix] = Σ over (k, ky, kx) with oy = (iy+PH−ky·DH)/SH integral and in range of
/// dy[n,k,oy,ox] · w[k,c−c0,ky,kx]. It gathers, so it needs no atomics.</para>
/// <para>Backward filter: dw[k,c,ky,kx] = Σ_{n,oy,ox} dy[n,k,oy,ox] · x[n, c0+c, oy·SH−PH+ky·DH, ox·SW−PW+kx·DW];
/// bias: db[k] = Σ_{n,oy,ox} dy[n,k,oy,ox].</para>
/// Every gradient kernel computes <c>out = beta·out + grad</c>, so several consumers of one tensor can accumulate.
/// </summary>
public static class ConvKernels
{
    /// <summary>Forward pass; one output element per loop iteration. <paramref name="hasBias"/> is 0 or 1.</summary>
    public static void Forward(Index1D t, int n, int chunk, ConvParams p,
        ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, int hasBias, ArrayView<float> y)
    {
        int end = Chunk.End(t, chunk, n);
        int cpg = p.C / p.G, kpg = p.K / p.G;
        for (int o = Chunk.Start(t, chunk); o < end; o++)
        {
            int ox = o % p.OW;
            int r = o / p.OW;
            int oy = r % p.OH;
            r /= p.OH;
            int k = r % p.K;
            int nn = r / p.K;
            int c0 = (k / kpg) * cpg;
            float acc = hasBias != 0 ? b[k] : 0f;
            int iy0 = oy * p.SH - p.PH, ix0 = ox * p.SW - p.PW;
            for (int c = 0; c < cpg; c++)
            {
                int xBase = ((nn * p.C + c0 + c) * p.H) * p.W;
                int wBase = ((k * cpg + c) * p.KH) * p.KW;
                for (int ky = 0; ky < p.KH; ky++)
                {
                    int iy = iy0 + ky * p.DH;
                    if (iy < 0 || iy >= p.H) continue;
                    int xRow = xBase + iy * p.W;
                    int wRow = wBase + ky * p.KW;
                    for (int kx = 0; kx < p.KW; kx++)
                    {
                        int ix = ix0 + kx * p.DW;
                        if (ix < 0 || ix >= p.W) continue;
                        acc += w[wRow + kx] * x[xRow + ix];
                    }
                }
            }
            y[o] = acc;
        }
    }

    /// <summary>Gradient with respect to the input; one input element per loop iteration.</summary>
    public static void BackwardData(Index1D t, int n, int chunk, ConvParams p,
        ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        int cpg = p.C / p.G, kpg = p.K / p.G;
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int ix = i % p.W;
            int r = i / p.W;
            int iy = r % p.H;
            r /= p.H;
            int c = r % p.C;
            int nn = r / p.C;
            int g = c / cpg;
            int cg = c - g * cpg;
            float acc = 0f;
            for (int kk = 0; kk < kpg; kk++)
            {
                int k = g * kpg + kk;
                int dyBase = ((nn * p.K + k) * p.OH) * p.OW;
                int wBase = ((k * cpg + cg) * p.KH) * p.KW;
                for (int ky = 0; ky < p.KH; ky++)
                {
                    int ty = iy + p.PH - ky * p.DH;
                    if (ty < 0 || ty % p.SH != 0) continue;
                    int oy = ty / p.SH;
                    if (oy >= p.OH) continue;
                    for (int kx = 0; kx < p.KW; kx++)
                    {
                        int tx = ix + p.PW - kx * p.DW;
                        if (tx < 0 || tx % p.SW != 0) continue;
                        int ox = tx / p.SW;
                        if (ox >= p.OW) continue;
                        acc += dy[dyBase + oy * p.OW + ox] * w[wBase + ky * p.KW + kx];
                    }
                }
            }
            dx[i] = beta == 0f ? acc : beta * dx[i] + acc;
        }
    }

    /// <summary>Gradient with respect to the filters (K × C/G × KH × KW); one weight per loop iteration.</summary>
    public static void BackwardFilter(Index1D t, int n, int chunk, ConvParams p,
        ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        int cpg = p.C / p.G, kpg = p.K / p.G;
        for (int j = Chunk.Start(t, chunk); j < end; j++)
        {
            int kx = j % p.KW;
            int r = j / p.KW;
            int ky = r % p.KH;
            r /= p.KH;
            int cg = r % cpg;
            int k = r / cpg;
            int c = (k / kpg) * cpg + cg;
            float acc = 0f;
            for (int nn = 0; nn < p.N; nn++)
            {
                int dyBase = ((nn * p.K + k) * p.OH) * p.OW;
                int xBase = ((nn * p.C + c) * p.H) * p.W;
                for (int oy = 0; oy < p.OH; oy++)
                {
                    int iy = oy * p.SH - p.PH + ky * p.DH;
                    if (iy < 0 || iy >= p.H) continue;
                    int dyRow = dyBase + oy * p.OW;
                    int xRow = xBase + iy * p.W;
                    for (int ox = 0; ox < p.OW; ox++)
                    {
                        int ix = ox * p.SW - p.PW + kx * p.DW;
                        if (ix < 0 || ix >= p.W) continue;
                        acc += dy[dyRow + ox] * x[xRow + ix];
                    }
                }
            }
            dw[j] = beta == 0f ? acc : beta * dw[j] + acc;
        }
    }

    /// <summary>Gradient with respect to the bias: the sum of dy over batch and space, one channel per iteration.</summary>
    public static void BackwardBias(Index1D t, int n, int chunk, ConvParams p,
        ArrayView<float> dy, ArrayView<float> db, float beta)
    {
        int end = Chunk.End(t, chunk, n);
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

using ILGPU;

namespace GpuCnn.Kernels.Conv;

/// <summary>Arguments of <see cref="LoweringKernels.Im2Col"/> and <see cref="LoweringKernels.Im2ColRows"/>.</summary>
public struct Im2ColArgs
{
    /// <summary>Prepared geometry (N may be a chunk of the batch).</summary>
    public ConvParams P;
    /// <summary>Input x, NCHW.</summary>
    public ArrayView<float> X;
    /// <summary>The lowered matrix [G][C/G·KH·KW][N·OH·OW].</summary>
    public ArrayView<float> Col;
}

/// <summary>Arguments of <see cref="LoweringKernels.Col2Im"/>.</summary>
public struct Col2ImArgs
{
    /// <summary>Prepared geometry.</summary>
    public ConvParams P;
    /// <summary>Gradient of the lowered matrix.</summary>
    public ArrayView<float> ColGrad;
    /// <summary>Input gradient dx, NCHW.</summary>
    public ArrayView<float> Dx;
    /// <summary>Scale of the old dx; 0 overwrites.</summary>
    public float Beta;
}

/// <summary>Arguments of <see cref="LoweringKernels.BatchToChannelMajor"/>: NKP to KNP.</summary>
public struct BatchToChannelMajorArgs
{
    /// <summary>Division by N, the batch size.</summary>
    public FastDiv Batch;
    /// <summary>K, the channels.</summary>
    public int Channels;
    /// <summary>Division by P, the pixels per plane.</summary>
    public FastDiv Plane;
    /// <summary>Source [N][K][P] and destination [K][N][P].</summary>
    public ArrayView<float> Src, Dst;
}

/// <summary>Arguments of <see cref="LoweringKernels.ChannelToBatchMajor"/>: KNP to NKP, with the forward epilogue.</summary>
public struct ChannelToBatchMajorArgs
{
    /// <summary>N, the batch size.</summary>
    public int Batch;
    /// <summary>Division by K, the channels.</summary>
    public FastDiv Channels;
    /// <summary>Division by P, the pixels per plane.</summary>
    public FastDiv Plane;
    /// <summary>Source [K][N][P] and destination [N][K][P].</summary>
    public ArrayView<float> Src, Dst;
    /// <summary>Bias per channel, read only when <see cref="BiasMode"/> is PerRow.</summary>
    public ArrayView<float> Bias;
    /// <summary>PerRow (per channel, a row of the lowered product) or None.</summary>
    public BiasMode BiasMode;
    /// <summary>Applied last.</summary>
    public FusedActivation Activation;
}

/// <summary>
/// Explicit lowering of convolution to dense GEMMs for an external GEMM library (cuBLAS), over the whole batch at
/// once, never per image. With rows = C/G·KH·KW and NP = N·OH·OW:
/// <list type="bullet">
/// <item>forward: col = im2col(x) [G][rows][NP]; t[g] = W[g]·col[g] ([K][NP]); y = permute(t) + bias;</item>
/// <item>data gradient: dyT = permute(dy) [K][NP]; colGrad[g] = W[g]ᵀ·dyT[g]; dx = col2im(colGrad);</item>
/// <item>filter gradient: dW[g] = dyT[g]·col[g]ᵀ.</item>
/// </list>
/// Index arithmetic divides by multiply and shift (<see cref="FastDiv"/>): <c>ConvParams</c> must come from
/// <see cref="ConvParams.Prepare"/>, and the permutes take their divisors ready made.
/// </summary>
public static class LoweringKernels
{
    /// <summary>col[(g·rows + row)·NP + img·P + pix] = x at tap row of output pixel pix (0 in the padding); n = G·rows·NP.</summary>
    public static void Im2Col(Index1D t, int n, int chunk, Im2ColArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> x = a.X, col = a.Col;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int gr = p.ByColumns.Div(e), j = p.ByColumns.Mod(e, gr), g = p.ByRows.Div(gr), row = p.ByRows.Mod(gr, g);
            int img = p.ByOutPlane.Div(j);
            col[e] = ConvIndex.Image(x, p, g, row, img, p.ByOutPlane.Mod(j, img));
        }
    }

    /// <summary>
    /// <see cref="Im2Col"/> one row of output pixels at a time: iteration e = ((g·rows + row)·N + img)·OH + oy fills
    /// col[e·OW .. e·OW + OW) from one input row, so the index arithmetic is paid per row, not per value. The CPU
    /// accelerator's lowering (about ten times faster there); a GPU would rather have one value per thread, whose
    /// writes coalesce. n = G·rows·N·OH.
    /// </summary>
    public static void Im2ColRows(Index1D t, int n, int chunk, Im2ColArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> x = a.X, col = a.Col;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int r = p.ByOH.DivRem(e, out int oy);
            int q = p.ByN.DivRem(r, out int img);
            int g = p.ByRows.DivRem(q, out int row);
            int ci = p.ByTaps.DivRem(row, out int tap);
            int ky = p.ByKW.DivRem(tap, out int kx);
            int iy = oy * p.SH - p.PH + ky * p.DH;
            int dst = e * p.OW;
            if (iy < 0 || iy >= p.H)
            {
                for (int ox = 0; ox < p.OW; ox++) col[dst + ox] = 0f;
                continue;
            }
            int src = ((img * p.C + g * p.Cg + ci) * p.H + iy) * p.W;
            int ix = kx * p.DW - p.PW;
            for (int ox = 0; ox < p.OW; ox++, ix += p.SW)
                col[dst + ox] = ix >= 0 && ix < p.W ? x[src + ix] : 0f;
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>, as a gather: dx[img, c, y, x] = Σ over taps that read it of
    /// colGrad[(g·rows + ci·KH·KW + r)·NP + img·P + oy·OW + ox], + beta·dx (beta 0 overwrites); n = N·C·H·W.
    /// </summary>
    public static void Col2Im(Index1D t, int n, int chunk, Col2ImArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        var p = a.P;
        ArrayView<float> colGrad = a.ColGrad, dx = a.Dx;
        float beta = a.Beta;
        int plane = p.ByOutPlane.D, np = p.ByColumns.D, taps = p.ByTaps.D, rows = p.ByRows.D;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int r1 = p.ByW.Div(e), xw = p.ByW.Mod(e, r1), r2 = p.ByH.Div(r1), y = p.ByH.Mod(r1, r2);
            int img = p.ByC.Div(r2), c = p.ByC.Mod(r2, img);
            int g = p.ByCg.Div(c), ci = p.ByCg.Mod(c, g);
            int rowBase = g * rows + ci * taps;
            float acc = 0f;
            for (int ky = 0; ky < p.KH; ky++)
            {
                int ty = y + p.PH - ky * p.DH;
                if (ty < 0) break; // ty only falls as ky grows
                int oy = p.BySH.Div(ty);
                if (oy * p.SH != ty || oy >= p.OH) continue;
                for (int kx = 0; kx < p.KW; kx++)
                {
                    int tx = xw + p.PW - kx * p.DW;
                    if (tx < 0) break;
                    int ox = p.BySW.Div(tx);
                    if (ox * p.SW != tx || ox >= p.OW) continue;
                    acc += colGrad[(rowBase + ky * p.KW + kx) * np + img * plane + oy * p.OW + ox];
                }
            }
            dx[e] = beta == 0f ? acc : acc + beta * dx[e];
        }
    }

    /// <summary>dst[(k·N + img)·P + pix] = src[(img·K + k)·P + pix]: NKP to KNP; n = N·K·P.</summary>
    public static void BatchToChannelMajor(Index1D t, int n, int chunk, BatchToChannelMajorArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        FastDiv batch = a.Batch, plane = a.Plane;
        int channels = a.Channels;
        ArrayView<float> src = a.Src, dst = a.Dst;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int r = plane.Div(e), pix = plane.Mod(e, r), k = batch.Div(r), img = batch.Mod(r, k);
            dst[e] = src[(img * channels + k) * plane.D + pix];
        }
    }

    /// <summary>dst[(img·K + k)·P + pix] = act(src[(k·N + img)·P + pix] + bias[k]): KNP to NKP; n = N·K·P.</summary>
    public static void ChannelToBatchMajor(Index1D t, int n, int chunk, ChannelToBatchMajorArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        FastDiv channels = a.Channels, plane = a.Plane;
        int batch = a.Batch;
        ArrayView<float> src = a.Src, dst = a.Dst, bias = a.Bias;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int r = plane.Div(e), pix = plane.Mod(e, r), img = channels.Div(r), k = channels.Mod(r, img);
            float v = src[(k * batch + img) * plane.D + pix];
            if (a.BiasMode != BiasMode.None) v += bias[k];
            dst[e] = a.Activation.Apply(v);
        }
    }
}

using ILGPU;

namespace GpuCnn.Kernels.Conv;

/// <summary>
/// Explicit lowering of convolution to dense GEMMs for an external GEMM library (cuBLAS), over the whole batch at
/// once, never per image. With rows = C/G·KH·KW and NP = N·OH·OW:
/// <list type="bullet">
/// <item>forward: col = im2col(x) [G][rows][NP]; t[g] = W[g]·col[g] ([K][NP]); y = permute(t) + bias;</item>
/// <item>data gradient: dyT = permute(dy) [K][NP]; colGrad[g] = W[g]ᵀ·dyT[g]; dx = col2im(colGrad);</item>
/// <item>filter gradient: dW[g] = dyT[g]·col[g]ᵀ.</item>
/// </list>
/// </summary>
public static class LoweringKernels
{
    /// <summary>col[(g·rows + row)·NP + img·P + pix] = x at tap row of output pixel pix (0 in the padding); n = G·rows·NP.</summary>
    public static void Im2Col(Index1D t, int n, int chunk, ConvParams p, ArrayView<float> x, ArrayView<float> col)
    {
        int end = Chunk.End(t, chunk, n);
        int plane = p.OH * p.OW, np = p.N * plane, rows = p.CPerGroup * p.KH * p.KW;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int gr = e / np, j = e - gr * np, g = gr / rows, row = gr - g * rows, img = j / plane;
            col[e] = ConvIndex.Image(x, p, g, row, img, j - img * plane);
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>, as a gather: dx[img, c, y, x] = Σ over taps that read it of
    /// colGrad[(g·rows + ci·KH·KW + r)·NP + img·P + oy·OW + ox], + beta·dx (beta 0 overwrites); n = N·C·H·W.
    /// </summary>
    public static void Col2Im(Index1D t, int n, int chunk, ConvParams p, ArrayView<float> colGrad, ArrayView<float> dx, float beta)
    {
        int end = Chunk.End(t, chunk, n);
        int plane = p.OH * p.OW, np = p.N * plane, taps = p.KH * p.KW, rows = p.CPerGroup * taps;
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int xw = e % p.W, r1 = e / p.W, y = r1 % p.H, r2 = r1 / p.H, c = r2 % p.C, img = r2 / p.C;
            int g = c / p.CPerGroup, ci = c - g * p.CPerGroup;
            int rowBase = g * rows + ci * taps;
            float acc = 0f;
            for (int ky = 0; ky < p.KH; ky++)
            {
                int ty = y + p.PH - ky * p.DH;
                if (ty < 0) break; // ty only falls as ky grows
                int oy = ty / p.SH;
                if (oy * p.SH != ty || oy >= p.OH) continue;
                for (int kx = 0; kx < p.KW; kx++)
                {
                    int tx = xw + p.PW - kx * p.DW;
                    if (tx < 0) break;
                    int ox = tx / p.SW;
                    if (ox * p.SW != tx || ox >= p.OW) continue;
                    acc += colGrad[(rowBase + ky * p.KW + kx) * np + img * plane + oy * p.OW + ox];
                }
            }
            dx[e] = beta == 0f ? acc : acc + beta * dx[e];
        }
    }

    /// <summary>dst[(k·N + img)·P + pix] = src[(img·K + k)·P + pix]: NKP to KNP; n = N·K·P.</summary>
    public static void BatchToChannelMajor(Index1D t, int n, int chunk, int batch, int channels, int plane,
        ArrayView<float> src, ArrayView<float> dst)
    {
        int end = Chunk.End(t, chunk, n);
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int pix = e % plane, r = e / plane, img = r % batch, k = r / batch;
            dst[e] = src[(img * channels + k) * plane + pix];
        }
    }

    /// <summary>
    /// dst[(img·K + k)·P + pix] = src[(k·N + img)·P + pix]: KNP to NKP; n = N·K·P. <paramref name="epilogue"/>:
    /// bit 1 adds bias[k], bit 2 applies ReLU.
    /// </summary>
    public static void ChannelToBatchMajor(Index1D t, int n, int chunk, int batch, int channels, int plane,
        ArrayView<float> src, ArrayView<float> dst, ArrayView<float> bias, int epilogue)
    {
        int end = Chunk.End(t, chunk, n);
        for (int e = Chunk.Start(t, chunk); e < end; e++)
        {
            int pix = e % plane, r = e / plane, k = r % channels, img = r / channels;
            float v = src[(k * batch + img) * plane + pix];
            if ((epilogue & 1) != 0) v += bias[k];
            dst[e] = (epilogue & 2) != 0 && v < 0f ? 0f : v;
        }
    }
}

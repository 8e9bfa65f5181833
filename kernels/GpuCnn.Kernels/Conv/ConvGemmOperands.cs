using GpuCnn.Kernels.Gemm;
using ILGPU;

namespace GpuCnn.Kernels.Conv;

// Convolution as implicit GEMM: the tiled kernels read these operands through index arithmetic, so the im2col matrix
// of the whole batch is never materialised. Batch index b of the GEMM is the convolution group g; per group,
// Cg = C/G input and Kg = K/G output channels, and a filter tap r = ky·KW + kx.
//   forward:         Y[g](co, (n,oy,ox))   = Σ_(ci,r)    W[g](co, (ci,r)) · X(ci·r, (n,oy,ox))
//   data gradient:   dX[g](ci, (n,y,x))    = Σ_(co,r)    W[g](co, (ci,r)) · dY(co, (n, (y+PH-ky·DH)/SH, (x+PW-kx·DW)/SW))
//   filter gradient: dW[g](co, (ci,r))     = Σ_(n,oy,ox) dY(co, (n,oy,ox)) · X(ci·r, (n,oy,ox))
// where X(ci·r, (n,oy,ox)) = x[n, g·Cg+ci, oy·SH-PH+ky·DH, ox·SW-PW+kx·DW] (0 outside the image) and the data
// gradient's dY term is 0 where the division is inexact or lands outside dY.

/// <summary>Forward B operand: B(g, (ci,ky,kx), (n,oy,ox)), the im2col matrix of the input, read in place.</summary>
public struct ConvImageB : IGemmB
{
    /// <summary>Input x, NCHW.</summary>
    public ArrayView<float> X;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <inheritdoc/>
    public readonly bool KMajor => false;
    /// <inheritdoc/>
    public readonly float Load(int g, int k, int n) => ConvIndex.Image(X, P, g, k, n / (P.OH * P.OW), n % (P.OH * P.OW));
}

/// <summary>Forward C operand: writes y[n, g·Kg+co, oy, ox] = acc + bias (ReLU optional).</summary>
public struct ConvOutputC : IGemmC
{
    /// <summary>Output y, NKHW.</summary>
    public ArrayView<float> Y;
    /// <summary>Bias per output channel, read when HasBias is 1.</summary>
    public ArrayView<float> Bias;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <summary>1 adds the bias.</summary>
    public int HasBias;
    /// <summary>1 applies max(0, ·) last.</summary>
    public int Relu;
    /// <inheritdoc/>
    public readonly void Store(int g, int split, int m, int n, float acc)
    {
        int plane = P.OH * P.OW, img = n / plane, pix = n - img * plane, k = g * P.KPerGroup + m;
        float v = HasBias != 0 ? acc + Bias[k] : acc;
        if (Relu != 0 && v < 0f) v = 0f;
        Y[(img * P.K + k) * plane + pix] = v;
    }
}

/// <summary>Data-gradient A operand: A(g, ci, (co,ky,kx)) = w[g·Kg+co, ci, ky, kx].</summary>
public struct ConvDataWeightA : IGemmA
{
    /// <summary>Weights, K × C/G × KH × KW.</summary>
    public ArrayView<float> W;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <inheritdoc/>
    public readonly bool KMajor => true;
    /// <inheritdoc/>
    public readonly float Load(int g, int m, int k)
    {
        int taps = P.KH * P.KW, co = k / taps, r = k - co * taps;
        return W[((g * P.KPerGroup + co) * P.CPerGroup + m) * taps + r];
    }
}

/// <summary>Data-gradient B operand: B(g, (co,ky,kx), (n,y,x)) = dy[n, g·Kg+co, oy, ox] where the tap lands on an output.</summary>
public struct ConvDataGradB : IGemmB
{
    /// <summary>Output gradient dy, NKHW.</summary>
    public ArrayView<float> Dy;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <inheritdoc/>
    public readonly bool KMajor => false;
    /// <inheritdoc/>
    public readonly float Load(int g, int k, int n)
    {
        int taps = P.KH * P.KW, co = k / taps, r = k - co * taps, ky = r / P.KW, kx = r - ky * P.KW;
        int plane = P.H * P.W, img = n / plane, pix = n - img * plane, y = pix / P.W, x = pix - y * P.W;
        int ty = y + P.PH - ky * P.DH, tx = x + P.PW - kx * P.DW;
        if (ty < 0 || tx < 0) return 0f;
        int oy = ty / P.SH, ox = tx / P.SW;
        if (oy * P.SH != ty || ox * P.SW != tx || oy >= P.OH || ox >= P.OW) return 0f;
        return Dy[((img * P.K + g * P.KPerGroup + co) * P.OH + oy) * P.OW + ox];
    }
}

/// <summary>Data-gradient C operand: dx[n, g·Cg+ci, y, x] = acc + Beta·dx (Beta 0 overwrites).</summary>
public struct ConvDataGradC : IGemmC
{
    /// <summary>Input gradient dx, NCHW.</summary>
    public ArrayView<float> Dx;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <summary>Scale of the old gradient.</summary>
    public float Beta;
    /// <inheritdoc/>
    public readonly void Store(int g, int split, int m, int n, float acc)
    {
        int plane = P.H * P.W, img = n / plane, pix = n - img * plane;
        int i = (img * P.C + g * P.CPerGroup + m) * plane + pix;
        Dx[i] = Beta == 0f ? acc : acc + Beta * Dx[i];
    }
}

/// <summary>Filter-gradient A operand: A(g, co, (n,oy,ox)) = dy[n, g·Kg+co, oy, ox].</summary>
public struct ConvFilterGradA : IGemmA
{
    /// <summary>Output gradient dy, NKHW.</summary>
    public ArrayView<float> Dy;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <inheritdoc/>
    public readonly bool KMajor => true;
    /// <inheritdoc/>
    public readonly float Load(int g, int m, int k)
    {
        int plane = P.OH * P.OW, img = k / plane, pix = k - img * plane;
        return Dy[(img * P.K + g * P.KPerGroup + m) * plane + pix];
    }
}

/// <summary>Filter-gradient B operand: B(g, (n,oy,ox), (ci,ky,kx)), the transposed im2col matrix, read in place.</summary>
public struct ConvFilterImageB : IGemmB
{
    /// <summary>Input x, NCHW.</summary>
    public ArrayView<float> X;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <inheritdoc/>
    public readonly bool KMajor => true;
    /// <inheritdoc/>
    public readonly float Load(int g, int k, int n)
    {
        int plane = P.OH * P.OW, img = k / plane;
        return ConvIndex.Image(X, P, g, n, img, k - img * plane);
    }
}

/// <summary>Shared im2col addressing.</summary>
public static class ConvIndex
{
    /// <summary>x[img, g·Cg+ci, oy·SH−PH+ky·DH, ox·SW−PW+kx·DW] for row (ci,ky,kx) and output pixel oy·OW+ox; 0 in the padding.</summary>
    public static float Image(ArrayView<float> x, ConvParams p, int g, int row, int img, int pix)
    {
        int taps = p.KH * p.KW, ci = row / taps, r = row - ci * taps, ky = r / p.KW, kx = r - ky * p.KW;
        int oy = pix / p.OW, ox = pix - oy * p.OW;
        int iy = oy * p.SH - p.PH + ky * p.DH, ix = ox * p.SW - p.PW + kx * p.DW;
        if (iy < 0 || ix < 0 || iy >= p.H || ix >= p.W) return 0f;
        return x[((img * p.C + g * p.CPerGroup + ci) * p.H + iy) * p.W + ix];
    }
}

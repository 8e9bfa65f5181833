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
// Every operand needs ConvParams.Prepare(): its divisions by geometry are multiplies and shifts (FastDiv), and the
// channels per group are fields, since an integer division costs about twenty instructions on a GPU.

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
    public readonly float Load(int g, int k, int n)
    {
        int img = P.ByOutPlane.Div(n);
        return ConvIndex.Image(X, P, g, k, img, P.ByOutPlane.Mod(n, img));
    }
}

/// <summary>Forward C operand: writes y[n, g·Kg+co, oy, ox] = act(acc + bias).</summary>
public struct ConvOutputC : IGemmC
{
    /// <summary>Output y, NKHW.</summary>
    public ArrayView<float> Y;
    /// <summary>Bias per output channel, read only when <see cref="BiasMode"/> is PerRow.</summary>
    public ArrayView<float> Bias;
    /// <summary>Geometry.</summary>
    public ConvParams P;
    /// <summary>PerRow (per output channel) or None.</summary>
    public BiasMode BiasMode;
    /// <summary>Applied last.</summary>
    public FusedActivation Activation;
    /// <inheritdoc/>
    public readonly void Store(int g, int split, int m, int n, float acc)
    {
        int img = P.ByOutPlane.Div(n), pix = P.ByOutPlane.Mod(n, img), k = g * P.Kg + m;
        float v = BiasMode != BiasMode.None ? acc + Bias[k] : acc;
        Y[(img * P.K + k) * P.ByOutPlane.D + pix] = Activation.Apply(v);
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
        int co = P.ByTaps.Div(k), r = P.ByTaps.Mod(k, co);
        return W[((g * P.Kg + co) * P.Cg + m) * P.ByTaps.D + r];
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
        int co = P.ByTaps.Div(k), r = P.ByTaps.Mod(k, co), ky = P.ByKW.Div(r), kx = P.ByKW.Mod(r, ky);
        int img = P.ByPlane.Div(n), pix = P.ByPlane.Mod(n, img), y = P.ByW.Div(pix), x = P.ByW.Mod(pix, y);
        int ty = y + P.PH - ky * P.DH, tx = x + P.PW - kx * P.DW;
        if (ty < 0 || tx < 0) return 0f;
        int oy = P.BySH.Div(ty), ox = P.BySW.Div(tx);
        if (oy * P.SH != ty || ox * P.SW != tx || oy >= P.OH || ox >= P.OW) return 0f;
        return Dy[((img * P.K + g * P.Kg + co) * P.OH + oy) * P.OW + ox];
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
        int img = P.ByPlane.Div(n), pix = P.ByPlane.Mod(n, img);
        int i = (img * P.C + g * P.Cg + m) * P.ByPlane.D + pix;
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
        int img = P.ByOutPlane.Div(k), pix = P.ByOutPlane.Mod(k, img);
        return Dy[(img * P.K + g * P.Kg + m) * P.ByOutPlane.D + pix];
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
        int img = P.ByOutPlane.Div(k);
        return ConvIndex.Image(X, P, g, n, img, P.ByOutPlane.Mod(k, img));
    }
}

/// <summary>Shared im2col addressing.</summary>
public static class ConvIndex
{
    /// <summary>x[img, g·Cg+ci, oy·SH−PH+ky·DH, ox·SW−PW+kx·DW] for row (ci,ky,kx) and output pixel oy·OW+ox; 0 in the padding.</summary>
    public static float Image(ArrayView<float> x, ConvParams p, int g, int row, int img, int pix)
    {
        int ci = p.ByTaps.Div(row), r = p.ByTaps.Mod(row, ci), ky = p.ByKW.Div(r), kx = p.ByKW.Mod(r, ky);
        int oy = p.ByOW.Div(pix), ox = p.ByOW.Mod(pix, oy);
        int iy = oy * p.SH - p.PH + ky * p.DH, ix = ox * p.SW - p.PW + kx * p.DW;
        if (iy < 0 || ix < 0 || iy >= p.H || ix >= p.W) return 0f;
        return x[((img * p.C + g * p.Cg + ci) * p.H + iy) * p.W + ix];
    }
}

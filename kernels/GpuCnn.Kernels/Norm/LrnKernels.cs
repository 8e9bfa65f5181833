using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Norm;

/// <summary>Local response normalisation across channels (NCHW).</summary>
public struct LrnParams
{
    /// <summary>Channels and spatial size H·W.</summary>
    public int C, Plane;
    /// <summary>Window size n: channel c sums over [c − n/2, c + (n−1)/2], as torch.nn.LocalResponseNorm.</summary>
    public int Size;
    /// <summary>α, β and k of s = k + α/n · Σ x².</summary>
    public float Alpha, Beta, K;
    /// <summary>Division by <see cref="Plane"/> and <see cref="C"/> (set by <see cref="Prepare"/>): every element finds
    /// its channel, and GPUs have no integer divide instruction.</summary>
    public FastDiv ByPlane, ByC;

    /// <summary>A copy with the divisors set; the kernels need it.</summary>
    public readonly LrnParams Prepare()
    {
        var p = this;
        p.ByPlane = FastDiv.For(Math.Max(1, Plane));
        p.ByC = FastDiv.For(Math.Max(1, C));
        return p;
    }
}

/// <summary>Arguments of <see cref="LrnKernels.Forward"/>.</summary>
public struct LrnForwardArgs
{
    /// <summary>Prepared geometry and constants.</summary>
    public LrnParams Geometry;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
}

/// <summary>Arguments of <see cref="LrnKernels.Backward"/>.</summary>
public struct LrnBackwardArgs
{
    /// <summary>Prepared geometry and constants.</summary>
    public LrnParams Geometry;
    /// <summary>Forward input.</summary>
    public ArrayView<float> X;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Input gradient.</summary>
    public ArrayView<float> Dx;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>
/// LRN (Krizhevsky et al. 2012): y_c = x_c · s_c^{−β}, s_c = k + (α/n) Σ_{j∈W(c)} x_j².
/// Backward: dx_i = dy_i s_i^{−β} − (2αβ/n) x_i Σ_{j: i∈W(j)} dy_j x_j s_j^{−β−1}. Each output recomputes the sums it
/// needs (n is 5 in AlexNet), so nothing is stored between passes.
/// </summary>
public static class LrnKernels
{
    static float Scale(ArrayView<float> x, int sampleBase, int pos, int c, LrnParams p)
    {
        int lo = c - p.Size / 2, hi = c + (p.Size - 1) / 2;
        if (lo < 0) lo = 0;
        if (hi > p.C - 1) hi = p.C - 1;
        float sum = 0f;
        for (int j = lo; j <= hi; j++)
        {
            float v = x[sampleBase + j * p.Plane + pos];
            sum += v * v;
        }
        return p.K + p.Alpha / p.Size * sum;
    }

    /// <summary>Forward; one element per iteration.</summary>
    public static void Forward(Index1D t, int n, int chunk, LrnForwardArgs a)
    {
        LrnParams p = a.Geometry;
        var x = a.X;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByPlane.DivRem(i, out int pos);
            int c = p.ByC.Mod(r, p.ByC.Div(r));
            int sampleBase = i - pos - c * p.Plane;
            a.Y[i] = x[i] * XMath.Pow(Scale(x, sampleBase, pos, c, p), -p.Beta);
        }
    }

    /// <summary>Backward; one input element per iteration.</summary>
    public static void Backward(Index1D t, int n, int chunk, LrnBackwardArgs a)
    {
        LrnParams p = a.Geometry;
        var x = a.X;
        var dy = a.Dy;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByPlane.DivRem(i, out int pos);
            int c = p.ByC.Mod(r, p.ByC.Div(r));
            int sampleBase = i - pos - c * p.Plane;
            float g = dy[i] * XMath.Pow(Scale(x, sampleBase, pos, c, p), -p.Beta);
            // Windows W(j) that contain c: j ∈ [c − (n−1)/2, c + n/2].
            int lo = c - (p.Size - 1) / 2, hi = c + p.Size / 2;
            if (lo < 0) lo = 0;
            if (hi > p.C - 1) hi = p.C - 1;
            float acc = 0f;
            for (int j = lo; j <= hi; j++)
            {
                int jj = sampleBase + j * p.Plane + pos;
                acc += dy[jj] * x[jj] * XMath.Pow(Scale(x, sampleBase, pos, j, p), -p.Beta - 1f);
            }
            g -= 2f * p.Alpha * p.Beta / p.Size * x[i] * acc;
            a.Dx[i] = a.Beta == 0f ? g : a.Beta * a.Dx[i] + g;
        }
    }
}

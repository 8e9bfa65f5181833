using System.Runtime.CompilerServices;
using GpuCnn.Kernels.Pool;

namespace GpuCnn.Devices;

/// <summary>
/// The common 2×2, stride-2, unpadded max/min pooling whose windows tile the input exactly (even H and W), a row of
/// windows at a time: no per-window geometry, and in backward no scratch, since every input lies in exactly one
/// window. The four cells are compared in <see cref="PoolKernels"/>' order, and a winner's gradient is 0 + dy as the
/// body's gather sums it, so the bits are the body's.
/// </summary>
internal static unsafe class HostPool2x2
{
    /// <summary>Whether <paramref name="p"/> is the exact 2×2 stride-2 tiling these loops handle.</summary>
    public static bool Applies(in PoolParams p) =>
        p.KH == 2 && p.KW == 2 && p.SH == 2 && p.SW == 2 && p.PH == 0 && p.PW == 0 && 2 * p.OH == p.H && 2 * p.OW == p.W;

    /// <summary>Index (0..3, in the body's order) of the winning cell of the window at <paramref name="c0"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Winner<TSel>(TSel sel, float* c0, int w) where TSel : struct, IPoolSelect
    {
        int k = 0;
        float v = c0[0];
        if (sel.Better(c0[1], v)) { k = 1; v = c0[1]; }
        if (sel.Better(c0[w], v)) { k = 2; v = c0[w]; }
        if (sel.Better(c0[w + 1], v)) k = 3;
        return k;
    }

    /// <summary>Outputs [start, end) of the forward pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward<TSel>(TSel sel, in PoolParams p, float* x, float* y, int start, int end) where TSel : struct, IPoolSelect
    {
        int w = p.W, ow = p.OW;
        int row = start / ow, ox = start - row * ow; // row = plane·OH + oy: its windows read input rows 2·row and 2·row+1
        for (int o = start; o < end; row++, ox = 0)
        {
            float* r0 = x + (long)row * 2 * w;
            int stop = Math.Min(ow, ox + end - o);
            for (; ox < stop; ox++, o++)
            {
                float* c = r0 + 2 * ox;
                int k = Winner(sel, c, w);
                y[o] = c[(k >> 1) * w + (k & 1)];
            }
        }
    }

    /// <summary>Input elements [start, end) of the backward pass: dx = β·dx + (0 + dy) at each window's winner, β·dx + 0 elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward<TSel>(TSel sel, in PoolParams p, float* x, float* dy, float* dx, float beta, int start, int end)
        where TSel : struct, IPoolSelect
    {
        int w = p.W, ow = p.OW, pair = 2 * w;
        for (int e = start; e < end;)
        {
            int row = e / pair, i0 = e - row * pair, i1 = Math.Min(pair, i0 + end - e); // cells [i0, i1) of this row pair
            float* xr = x + (long)row * pair, dxr = dx + (long)row * pair, g = dy + (long)row * ow;
            if (i0 == 0 && i1 == pair)
            {
                for (int ox = 0; ox < ow; ox++) // a whole row of windows: each writes its four cells
                {
                    int k = Winner(sel, xr + 2 * ox, w);
                    float win = 0f + g[ox];
                    Cell(dxr + 2 * ox, k == 0 ? win : 0f, beta);
                    Cell(dxr + 2 * ox + 1, k == 1 ? win : 0f, beta);
                    Cell(dxr + w + 2 * ox, k == 2 ? win : 0f, beta);
                    Cell(dxr + w + 2 * ox + 1, k == 3 ? win : 0f, beta);
                }
                e += pair;
                continue;
            }
            for (int i = i0; i < i1; i++)
            {
                int iy = i >= w ? 1 : 0, ix = i - iy * w, ox = ix >> 1;
                int k = Winner(sel, xr + 2 * ox, w);
                float acc = 0f;
                if (k == iy * 2 + (ix & 1)) acc += g[ox];
                dxr[i] = beta == 0f ? acc : beta * dxr[i] + acc;
            }
            e += i1 - i0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Cell(float* d, float acc, float beta) => *d = beta == 0f ? acc : beta * *d + acc;
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="SimdGemm"/>'s packing of a B whose k is contiguous and whose columns are apart (Bᵀ of a dense product, the
/// im2col matrix of a filter gradient): sixteen columns × sixteen steps of k are loaded as sixteen vectors and
/// transposed in registers (AVX-512), instead of gathered one value at a time. Only moves values, so the bits are
/// unchanged.
/// </summary>
internal static unsafe partial class SimdGemm
{
    /// <summary>True when <see cref="PackTransposed"/> can pack panels: AVX-512 and B's k contiguous in this block.</summary>
    static bool CanTranspose(int* koffB, int kc) => Width == 16 && Avx512F.IsSupported && kc >= 16 && koffB[1] - koffB[0] == 1;

    /// <summary>
    /// Packs columns j0..j0+<paramref name="width"/> of B for kc steps, k-major in rows NR apart: each group of sixteen
    /// columns is transposed sixteen steps at a time where those steps are adjacent in B, the other steps copied value
    /// by value. Columns past <paramref name="live"/> repeat the last live one (no output reads them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackTransposed(float* b, int* koffB, int* noffB, int j0, int live, int width, int kc, float* bp)
    {
        int nr = NR;
        float** cols = stackalloc float*[16];
        for (int jb = 0; jb < width; jb += 16)
        {
            for (int j = 0; j < 16; j++) cols[j] = b + noffB[j0 + Math.Min(jb + j, live - 1)];
            float* dst = bp + jb;
            for (int k = 0; k < kc;)
            {
                if (k + 16 <= kc && koffB[k + 15] - koffB[k] == 15)
                {
                    Transpose16(cols, koffB[k], dst + k * nr, nr);
                    k += 16;
                    continue;
                }
                float* d = dst + k * nr;
                int at = koffB[k];
                for (int j = 0; j < 16; j++) d[j] = cols[j][at];
                k++;
            }
        }
    }

    /// <summary>dst[c·ld + r] = cols[r][at + c] for r, c &lt; 16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose16(float** cols, int at, float* dst, int ld)
    {
        // Pairs of rows interleaved, then pairs of pairs (as doubles): each 128-bit lane holds four rows' values of one
        // column; two lane shuffles gather a column's four lanes.
        var t0 = Avx512F.UnpackLow(Vector512.Load(cols[0] + at), Vector512.Load(cols[1] + at));
        var t1 = Avx512F.UnpackHigh(Vector512.Load(cols[0] + at), Vector512.Load(cols[1] + at));
        var t2 = Avx512F.UnpackLow(Vector512.Load(cols[2] + at), Vector512.Load(cols[3] + at));
        var t3 = Avx512F.UnpackHigh(Vector512.Load(cols[2] + at), Vector512.Load(cols[3] + at));
        var t4 = Avx512F.UnpackLow(Vector512.Load(cols[4] + at), Vector512.Load(cols[5] + at));
        var t5 = Avx512F.UnpackHigh(Vector512.Load(cols[4] + at), Vector512.Load(cols[5] + at));
        var t6 = Avx512F.UnpackLow(Vector512.Load(cols[6] + at), Vector512.Load(cols[7] + at));
        var t7 = Avx512F.UnpackHigh(Vector512.Load(cols[6] + at), Vector512.Load(cols[7] + at));
        var t8 = Avx512F.UnpackLow(Vector512.Load(cols[8] + at), Vector512.Load(cols[9] + at));
        var t9 = Avx512F.UnpackHigh(Vector512.Load(cols[8] + at), Vector512.Load(cols[9] + at));
        var t10 = Avx512F.UnpackLow(Vector512.Load(cols[10] + at), Vector512.Load(cols[11] + at));
        var t11 = Avx512F.UnpackHigh(Vector512.Load(cols[10] + at), Vector512.Load(cols[11] + at));
        var t12 = Avx512F.UnpackLow(Vector512.Load(cols[12] + at), Vector512.Load(cols[13] + at));
        var t13 = Avx512F.UnpackHigh(Vector512.Load(cols[12] + at), Vector512.Load(cols[13] + at));
        var t14 = Avx512F.UnpackLow(Vector512.Load(cols[14] + at), Vector512.Load(cols[15] + at));
        var t15 = Avx512F.UnpackHigh(Vector512.Load(cols[14] + at), Vector512.Load(cols[15] + at));
        Quad(t0, t1, t2, t3, out var u0, out var u1, out var u2, out var u3);
        Quad(t4, t5, t6, t7, out var u4, out var u5, out var u6, out var u7);
        Quad(t8, t9, t10, t11, out var u8, out var u9, out var u10, out var u11);
        Quad(t12, t13, t14, t15, out var u12, out var u13, out var u14, out var u15);
        // Column c of the block: c % 4 picks u (within a lane), c / 4 the lane.
        Columns(u0, u4, u8, u12, dst, ld, 0);
        Columns(u1, u5, u9, u13, dst, ld, 1);
        Columns(u2, u6, u10, u14, dst, ld, 2);
        Columns(u3, u7, u11, u15, dst, ld, 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Quad(Vector512<float> lo01, Vector512<float> hi01, Vector512<float> lo23, Vector512<float> hi23,
        out Vector512<float> c0, out Vector512<float> c1, out Vector512<float> c2, out Vector512<float> c3)
    {
        c0 = Avx512F.UnpackLow(lo01.AsDouble(), lo23.AsDouble()).AsSingle();
        c1 = Avx512F.UnpackHigh(lo01.AsDouble(), lo23.AsDouble()).AsSingle();
        c2 = Avx512F.UnpackLow(hi01.AsDouble(), hi23.AsDouble()).AsSingle();
        c3 = Avx512F.UnpackHigh(hi01.AsDouble(), hi23.AsDouble()).AsSingle();
    }

    /// <summary>Stores columns c, c+4, c+8, c+12 from the four rows-of-four vectors holding them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Columns(Vector512<float> r0, Vector512<float> r4, Vector512<float> r8, Vector512<float> r12, float* dst, int ld, int c)
    {
        var v0 = Avx512F.Shuffle4x128(r0, r4, 0x88); // lanes 0, 2 of rows 0-3 and of rows 4-7: columns c, c+8
        var v1 = Avx512F.Shuffle4x128(r0, r4, 0xdd); // lanes 1, 3: columns c+4, c+12
        var v2 = Avx512F.Shuffle4x128(r8, r12, 0x88);
        var v3 = Avx512F.Shuffle4x128(r8, r12, 0xdd);
        Avx512F.Shuffle4x128(v0, v2, 0x88).Store(dst + c * ld);
        Avx512F.Shuffle4x128(v0, v2, 0xdd).Store(dst + (c + 8) * ld);
        Avx512F.Shuffle4x128(v1, v3, 0x88).Store(dst + (c + 4) * ld);
        Avx512F.Shuffle4x128(v1, v3, 0xdd).Store(dst + (c + 12) * ld);
    }
}

#!/usr/bin/env python3
"""Writes TiledGemmKernels.cs. ILGPU 1.5.3 neither unrolls loops nor keeps an indexed local array in registers,
so each thread's TM x TN accumulators must be distinct scalar locals: this script writes them out.
Run: python3 gen_tiled.py > TiledGemmKernels.cs
     python3 gen_tiled.py --vec4 > ../../../perf/GpuCnn.Experimental/Gemm01Vec4.cs   (experimental, see there)"""
import sys

def kernel(name, bm, tm, doc, vec4=False):
    """vec4: thread (tx, ty) owns rows 4ty..4ty+3 (+64) and columns 4tx..4tx+3 (+64), so each k step reads its
    A and B fragments from shared memory as Float4 (ld.shared.v4) instead of TM + TN scalar loads."""
    bn, tn, bk, threads = bm, tm, 8, 256
    side = 16                      # threads per row and per column of the 16x16 thread grid
    lds = bm + 4                   # padded shared row: k-major stores hit distinct banks
    per_a = bm * bk // threads     # elements of each tile a thread loads
    L = []
    w = L.append
    w(f"    /// <summary>{doc}</summary>")
    w(f"    public static void {name}<TA, TB, TC>(TiledGemmArgs<TA, TB, TC> args)")
    w( "        where TA : struct, IGemmA where TB : struct, IGemmB where TC : struct, IGemmC")
    w( "    {")
    w( "        TA a = args.A;")
    w( "        TB b = args.B;")
    w( "        TC c = args.C;")
    w( "        GemmShape s = args.Shape;")
    if vec4:
        assert lds % 4 == 0 and tm % 4 == 0
        w(f"        // Float4 storage keeps every row 16-byte aligned; the loaders store scalars through a float view.")
        w(f"        var sa4 = SharedMemory.Allocate<Float4>({2 * bk * lds // 4});")
        w(f"        var sb4 = SharedMemory.Allocate<Float4>({2 * bk * lds // 4});")
        w( "        var sa = sa4.Cast<float>();")
        w( "        var sb = sb4.Cast<float>();")
    else:
        w(f"        var sa = SharedMemory.Allocate<float>({2 * bk * lds});")
        w(f"        var sb = SharedMemory.Allocate<float>({2 * bk * lds});")
    w( "        int tid = Group.IdxX, tx = tid & 15, ty = tid >> 4;")
    w(f"        int m0 = Grid.IdxY * {bm}, n0 = Grid.IdxX * {bn};")
    w( "        int batch = Grid.IdxZ / s.Splits, split = Grid.IdxZ - batch * s.Splits;")
    w( "        int kBegin = split * s.KPerSplit, kEnd = kBegin + s.KPerSplit;")
    w( "        if (kEnd > s.K) kEnd = s.K;")
    w(f"        int tiles = kEnd > kBegin ? (kEnd - kBegin + {bk - 1}) / {bk} : 0;")
    w( "        // Each thread loads the same tile positions every step; which walk is coalesced depends on the layout.")
    w(f"        bool aK = a.KMajor, bK = b.KMajor;")
    rows_per_r = threads // bk            # k-major walk: 8 threads cover the tile's depth
    depth_per_r = threads // bm           # m-major walk: bm threads cover a row of the tile
    w(f"        int aRow = aK ? tid >> 3 : tid & {bm - 1}, aDepth = aK ? tid & 7 : tid >> {bm.bit_length() - 1};")
    w(f"        int aRowStep = aK ? {rows_per_r} : 0, aDepthStep = aK ? 0 : {depth_per_r};")
    w(f"        int bCol = bK ? tid >> 3 : tid & {bn - 1}, bDepth = bK ? tid & 7 : tid >> {bn.bit_length() - 1};")
    w(f"        int bColStep = bK ? {rows_per_r} : 0, bDepthStep = bK ? 0 : {depth_per_r};")
    accs = [f"c{i}{j}" for i in range(tm) for j in range(tn)]
    for i in range(0, len(accs), 8):
        w("        float " + ", ".join(f"{v} = 0f" for v in accs[i:i + 8]) + ";")
    w("        float " + ", ".join(f"la{r} = 0f" for r in range(per_a)) + ", " + ", ".join(f"lb{r} = 0f" for r in range(per_a)) + ";")
    def loads(kbase):
        for r in range(per_a):
            w(f"            {{ int m = m0 + aRow + {r} * aRowStep, k = {kbase} + aDepth + {r} * aDepthStep;")
            w(f"              la{r} = m < s.M && k < kEnd ? a.Load(batch, m, k) : 0f; }}")
        for r in range(per_a):
            w(f"            {{ int n = n0 + bCol + {r} * bColStep, k = {kbase} + bDepth + {r} * bDepthStep;")
            w(f"              lb{r} = n < s.N && k < kEnd ? b.Load(batch, k, n) : 0f; }}")
    def stores(buf):
        for r in range(per_a):
            w(f"            sa[{buf} + (aDepth + {r} * aDepthStep) * {lds} + aRow + {r} * aRowStep] = la{r};")
        for r in range(per_a):
            w(f"            sb[{buf} + (bDepth + {r} * bDepthStep) * {lds} + bCol + {r} * bColStep] = lb{r};")
    w("        if (tiles > 0)")
    w("        {")
    loads("kBegin")
    stores("0")
    w("        }")
    w("        Group.Barrier();")
    w("        for (int t = 0; t < tiles; t++)")
    w("        {")
    w(f"            int cur = (t & 1) * {bk * lds}, next = {bk * lds} - cur;")
    w("            bool more = t + 1 < tiles;")
    w(f"            int kNext = kBegin + (t + 1) * {bk};")
    w("            // Fetch the next tile into registers while this one is multiplied from shared memory.")
    w("            if (more)")
    w("            {")
    loads("kNext")
    w("            }")
    w(f"            for (int kk = 0; kk < {bk}; kk++)")
    w("            {")
    if vec4:
        w(f"                int ra = (cur + kk * {lds}) / 4 + ty, rb = (cur + kk * {lds}) / 4 + tx;")
        w("                Float4 " + ", ".join(f"va{v} = sa4[ra + {side * v}]" for v in range(tm // 4)) + ";")
        w("                Float4 " + ", ".join(f"vb{v} = sb4[rb + {side * v}]" for v in range(tn // 4)) + ";")
        comp = "XYZW"
        w("                float " + ", ".join(f"a{i} = va{i // 4}.{comp[i % 4]}" for i in range(tm)) + ";")
        w("                float " + ", ".join(f"b{j} = vb{j // 4}.{comp[j % 4]}" for j in range(tn)) + ";")
    else:
        w(f"                int ra = cur + kk * {lds} + ty, rb = cur + kk * {lds} + tx;")
        w("                float " + ", ".join(f"a{i} = sa[ra + {side * i}]" for i in range(tm)) + ";")
        w("                float " + ", ".join(f"b{j} = sb[rb + {side * j}]" for j in range(tn)) + ";")
    for i in range(tm):
        w("                " + " ".join(f"c{i}{j} += a{i} * b{j};" for j in range(tn)))
    w("            }")
    w("            if (more)")
    w("            {")
    stores("next")
    w("            }")
    w("            Group.Barrier();")
    w("        }")
    row = (lambda i: f"4 * ty + {i % 4 + 64 * (i // 4)}") if vec4 else (lambda i: f"ty + {side * i}")
    col = (lambda j: f"4 * tx + {j % 4 + 64 * (j // 4)}") if vec4 else (lambda j: f"tx + {side * j}")
    for i in range(tm):
        w(f"        {{ int m = m0 + {row(i)};")
        w("          if (m < s.M)")
        w("          {")
        for j in range(tn):
            w(f"            {{ int n = n0 + {col(j)}; if (n < s.N) c.Store(batch, split, m, n, c{i}{j}); }}")
        w("          }")
        w("        }")
    w("    }")
    return "\n".join(L)

head = '''// <auto-generated> by gen_tiled.py; edit the script, not this file. </auto-generated>
using ILGPU;

namespace GpuCnn.Kernels.Gemm;

/// <summary>
/// Register-blocked, shared-memory GEMM kernels for GPUs: C[b] = A[b]·B[b], with operands read and results written
/// through <see cref="IGemmA"/>, <see cref="IGemmB"/> and <see cref="IGemmC"/> structs, so one kernel serves dense
/// matrices, implicit-GEMM convolution (im2col addressing computed on the fly, never materialised) and split-K.
/// Each kernel takes one <see cref="TiledGemmArgs{TA, TB, TC}"/>. A 256-thread group computes one BM×BN tile of C;
/// thread (tx, ty) of the 16×16 grid owns rows ty + 16i and columns tx + 16j, so its shared-memory reads are
/// broadcasts or consecutive words. The K loop is double-buffered: the next BK-deep slices of A and B are fetched
/// into registers while the current ones are multiplied, with one barrier per step. Launch with group size 256 and
/// grid (⌈N/BN⌉, ⌈M/BM⌉, Batches·Splits).
/// </summary>
public static partial class TiledGemmKernels
{
    /// <summary>Threads per group of every tiled kernel.</summary>
    public const int GroupSize = 256;
    /// <summary>Depth of a k-tile; split-K slices are multiples of it.</summary>
    public const int TileK = 8;

'''
tail = '\n}\n'

head_vec4 = '''// <auto-generated> by kernels/GpuCnn.Kernels/Gemm/gen_tiled.py --vec4; edit the script, not this file. </auto-generated>
using GpuCnn.Kernels.Gemm;
using ILGPU;
using ILGPU.Util;

namespace GpuCnn.Perf.Experimental;

/// <summary>
/// Experiment 01, outside the library until a GPU run shows it wins: the library's tiled GEMM
/// (<see cref="TiledGemmKernels"/>: same tiles, operands, double buffering and launch shape) with vectorised
/// shared-memory reads. Thread (tx, ty) owns rows 4ty..4ty+3 (and +64) and columns 4tx..4tx+3 (and +64), so each k
/// step reads its fragments as Float4 (PTX ld.shared.v4.f32): 4 loads per k step for 8×8 outputs instead of 16.
/// Global loads stay scalar, since im2col operands have no aligned runs of four.
/// </summary>
public static class Gemm01Vec4Kernels
{
'''

if "--vec4" in sys.argv:
    print(head_vec4 + kernel("Tile128V4", 128, 8, "128×128 tile, 8×8 outputs per thread, Float4 shared-memory reads.", True)
          + "\n\n" + kernel("Tile64V4", 64, 4, "64×64 tile, 4×4 outputs per thread, Float4 shared-memory reads.", True) + tail, end="")
    sys.exit(0)
print(head + kernel("Tile128", 128, 8, "128×128 tile, 8×8 outputs per thread: large products (AlexNet's convolutions and FC layers).")
      + "\n\n" + kernel("Tile64", 64, 4, "64×64 tile, 4×4 outputs per thread: mid-size products, more groups per SM.") + tail, end="")

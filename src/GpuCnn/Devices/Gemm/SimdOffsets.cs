using GpuCnn.Kernels.Gemm;

namespace GpuCnn.Devices;

/// <summary><see cref="SimdGemm"/>'s tables of where a tile's columns and a block's steps of k lie in A, B and C.</summary>
internal static unsafe partial class SimdGemm
{
    /// <summary>Offsets of columns n0.. in B and in C: column n = s·NSeg + r is at s·BSegN + r·BStepN and s·CSegN + r.</summary>
    static void ColumnOffsets(Job job, int n0, int nLen, int[] inB, int[] inC)
    {
        ref readonly var p = ref job.P;
        int seg = n0 / job.NSeg, r = n0 - seg * job.NSeg, step = p.BStepN;
        fixed (int* b = inB, c = inC)
            for (int j = 0; j < nLen; r = 0, seg++) // a segment's columns at a time
            {
                int len = Math.Min(nLen - j, job.NSeg - r), atB = seg * p.BSegN + r * step, atC = seg * p.CSegN + r;
                for (int t = 0; t < len; t++, j++)
                {
                    b[j] = atB + t * step;
                    c[j] = atC + t;
                }
            }
    }

    /// <summary>Offsets of reduction steps k0.. in A and in B: k = s·KSeg + r is at s·ASegK + r·AStepK and s·BSegK + r·BStepK.</summary>
    static void ReductionOffsets(in BlockedGemmParams p, int k0, int kc, int* inA, int* inB)
    {
        int seg = k0 / p.KSeg, r = k0 - seg * p.KSeg, stepA = p.AStepK, stepB = p.BStepK;
        for (int k = 0; k < kc; r = 0, seg++) // a segment's steps at a time
        {
            int len = Math.Min(kc - k, p.KSeg - r), atA = seg * p.ASegK + r * stepA, atB = seg * p.BSegK + r * stepB;
            for (int t = 0; t < len; t++, k++)
            {
                inA[k] = atA + t * stepA;
                inB[k] = atB + t * stepB;
            }
        }
    }
}

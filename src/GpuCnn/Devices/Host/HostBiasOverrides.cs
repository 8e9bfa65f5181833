using System.Runtime.CompilerServices;
using System.Numerics;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="GemmKernels.ColumnSum"/> (a fully connected layer's bias gradient): adjacent columns are adjacent
/// addresses, so each lane sums one column over the rows in the body's order.
/// </summary>
internal sealed unsafe class ColumnSumOverride : HostOverride<ColumnSumArgs>
{
    protected override int Grain => 256;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in ColumnSumArgs a)
    {
        float* m = HostMemory.Ptr(a.M), o = HostMemory.Ptr(a.Output);
        int rows = a.Rows, cols = a.Cols, j = start;
        float beta = a.Beta;
        for (; j <= end - Vector<float>.Count; j += Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (int i = 0; i < rows; i++) acc += Vector.Load(m + (long)i * cols + j);
            (beta == 0f ? acc : new Vector<float>(beta) * Vector.Load(o + j) + acc).Store(o + j);
        }
        for (; j < end; j++)
        {
            float acc = 0f;
            for (int i = 0; i < rows; i++) acc += m[(long)i * cols + j];
            o[j] = beta == 0f ? acc : beta * o[j] + acc;
        }
    }

    protected override HostOverride<ColumnSumArgs> Clone() => new ColumnSumOverride();
}

/// <summary>
/// <see cref="ConvKernels.BackwardBias"/>: each channel's sum is one float chain in (image, pixel) order, so it stays
/// scalar; four channels run side by side so that their chains overlap.
/// </summary>
internal sealed unsafe class ConvBiasGradOverride : HostOverride<ConvBiasGradArgs>
{
    protected override int Grain => 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in ConvBiasGradArgs a)
    {
        ConvParams p = a.P;
        float* dy = HostMemory.Ptr(a.Dy), db = HostMemory.Ptr(a.Db);
        float beta = a.Beta;
        int plane = p.OH * p.OW, k = start;
        for (; k + 4 <= end; k += 4)
        {
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (int nn = 0; nn < p.N; nn++)
            {
                float* b0 = dy + (long)(nn * p.K + k) * plane, b1 = b0 + plane, b2 = b1 + plane, b3 = b2 + plane;
                for (int s = 0; s < plane; s++) { s0 += b0[s]; s1 += b1[s]; s2 += b2[s]; s3 += b3[s]; }
            }
            Store(db, k, s0, beta); Store(db, k + 1, s1, beta); Store(db, k + 2, s2, beta); Store(db, k + 3, s3, beta);
        }
        for (; k < end; k++)
        {
            float acc = 0f;
            for (int nn = 0; nn < p.N; nn++)
            {
                float* b = dy + (long)(nn * p.K + k) * plane;
                for (int s = 0; s < plane; s++) acc += b[s];
            }
            Store(db, k, acc, beta);
        }
    }

    static void Store(float* db, int k, float acc, float beta) => db[k] = beta == 0f ? acc : beta * db[k] + acc;

    protected override HostOverride<ConvBiasGradArgs> Clone() => new ConvBiasGradOverride();
}

/// <summary>Registers the bias-gradient reductions' overrides (fully connected and convolution).</summary>
internal sealed class HostBiasOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<ColumnSumArgs>(GemmKernels.ColumnSum, new ColumnSumOverride());
        HostOverrides.Add<ConvBiasGradArgs>(ConvKernels.BackwardBias, new ConvBiasGradOverride());
    }
}

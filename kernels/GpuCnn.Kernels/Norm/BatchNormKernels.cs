using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Norm;

/// <summary>Geometry and constants of a 2-D batch normalisation over NCHW.</summary>
public struct BatchNormParams
{
    /// <summary>Batch size, channels and spatial size H·W.</summary>
    public int N, C, Plane;
    /// <summary>ε added to the variance.</summary>
    public float Eps;
    /// <summary>Running-statistics momentum (PyTorch: new = (1 − m)·old + m·batch).</summary>
    public float Momentum;
    /// <summary>Division by <see cref="Plane"/> and <see cref="C"/> (set by <see cref="Prepare"/>): every element finds
    /// its channel, and GPUs have no integer divide instruction.</summary>
    public FastDiv ByPlane, ByC;

    /// <summary>A copy with the divisors set; the element-wise kernels need it.</summary>
    public readonly BatchNormParams Prepare()
    {
        var p = this;
        p.ByPlane = FastDiv.For(Math.Max(1, Plane));
        p.ByC = FastDiv.For(Math.Max(1, C));
        return p;
    }
}

/// <summary>Arguments of <see cref="BatchNormKernels.BatchStats"/>.</summary>
public struct BatchNormStatsArgs
{
    /// <summary>Prepared geometry and constants.</summary>
    public BatchNormParams Geometry;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Per-channel statistics [mean | invstd | Σdy | Σdy·x̂] (4C); the first two are written.</summary>
    public ArrayView<float> Stats;
    /// <summary>Running mean, updated.</summary>
    public ArrayView<float> RunningMean;
    /// <summary>Running variance, updated.</summary>
    public ArrayView<float> RunningVar;
}

/// <summary>Arguments of <see cref="BatchNormKernels.RunningStats"/>.</summary>
public struct BatchNormRunningStatsArgs
{
    /// <summary>Prepared geometry and constants.</summary>
    public BatchNormParams Geometry;
    /// <summary>Per-channel statistics (4C); mean and invstd are written.</summary>
    public ArrayView<float> Stats;
    /// <summary>Running mean.</summary>
    public ArrayView<float> RunningMean;
    /// <summary>Running variance.</summary>
    public ArrayView<float> RunningVar;
}

/// <summary>Arguments of <see cref="BatchNormKernels.Normalize"/>.</summary>
public struct BatchNormNormalizeArgs
{
    /// <summary>Prepared geometry and constants.</summary>
    public BatchNormParams Geometry;
    /// <summary>Input.</summary>
    public ArrayView<float> X;
    /// <summary>Per-channel statistics (mean and invstd are read).</summary>
    public ArrayView<float> Stats;
    /// <summary>Scale γ per channel.</summary>
    public ArrayView<float> Gamma;
    /// <summary>Shift β per channel.</summary>
    public ArrayView<float> Shift;
    /// <summary>Output.</summary>
    public ArrayView<float> Y;
}

/// <summary>Arguments of <see cref="BatchNormKernels.BackwardReduce"/>.</summary>
public struct BatchNormReduceArgs
{
    /// <summary>Prepared geometry and constants.</summary>
    public BatchNormParams Geometry;
    /// <summary>Forward input.</summary>
    public ArrayView<float> X;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Per-channel statistics; mean and invstd are read, Σdy and Σdy·x̂ written.</summary>
    public ArrayView<float> Stats;
    /// <summary>Gradient of γ.</summary>
    public ArrayView<float> DGamma;
    /// <summary>Gradient of β.</summary>
    public ArrayView<float> DShift;
    /// <summary>0 overwrites the parameter gradients, 1 accumulates.</summary>
    public float ParamBeta;
}

/// <summary>Arguments of <see cref="BatchNormKernels.BackwardData"/>.</summary>
public struct BatchNormDataArgs
{
    /// <summary>Prepared geometry and constants.</summary>
    public BatchNormParams Geometry;
    /// <summary>Forward input (read in training only).</summary>
    public ArrayView<float> X;
    /// <summary>Output gradient.</summary>
    public ArrayView<float> Dy;
    /// <summary>Per-channel statistics and reduced sums.</summary>
    public ArrayView<float> Stats;
    /// <summary>Scale γ per channel.</summary>
    public ArrayView<float> Gamma;
    /// <summary>1 differentiates through the batch statistics, 0 treats them as constants (eval).</summary>
    public int Training;
    /// <summary>Input gradient.</summary>
    public ArrayView<float> Dx;
    /// <summary>0 overwrites dx, 1 accumulates.</summary>
    public float Beta;
}

/// <summary>
/// BatchNorm2d (Ioffe and Szegedy 2015), per channel c over M = N·H·W values:
/// training: μ = mean x, σ² = mean (x − μ)² (biased), x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β, and the running
/// statistics move towards μ and the unbiased variance σ²·M/(M − 1); eval: μ, σ² are the running statistics.
/// Backward (training): dγ = Σ dy x̂, dβ = Σ dy, dx = γ/√(σ² + ε) · (dy − dβ/M − x̂ · dγ/M); in eval the statistics are
/// constants, so dx = γ/√(σ² + ε) · dy.
/// The per-channel reductions run one channel per iteration; <c>stats</c> holds [mean | invstd | Σdy | Σdy·x̂] (4C).
/// </summary>
public static class BatchNormKernels
{
    /// <summary>Training statistics of each channel, and the running-statistics update.</summary>
    public static void BatchStats(Index1D t, int n, int chunk, BatchNormStatsArgs a)
    {
        BatchNormParams p = a.Geometry;
        var x = a.X;
        var stats = a.Stats;
        var runningMean = a.RunningMean;
        var runningVar = a.RunningVar;
        int end = Chunk.End(t, chunk, n);
        int m = p.N * p.Plane;
        for (int c = Chunk.Start(t, chunk); c < end; c++)
        {
            // Two passes (mean, then squared deviations) for accuracy; double accumulators keep large batches exact.
            double sum = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                int b = (nn * p.C + c) * p.Plane;
                for (int s = 0; s < p.Plane; s++) sum += x[b + s];
            }
            float mean = (float)(sum / m);
            double sq = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                int b = (nn * p.C + c) * p.Plane;
                for (int s = 0; s < p.Plane; s++)
                {
                    float d = x[b + s] - mean;
                    sq += d * d;
                }
            }
            float var = (float)(sq / m);
            stats[c] = mean;
            stats[p.C + c] = XMath.Rsqrt(var + p.Eps);
            float unbiased = m > 1 ? var * m / (m - 1) : var;
            runningMean[c] = (1f - p.Momentum) * runningMean[c] + p.Momentum * mean;
            runningVar[c] = (1f - p.Momentum) * runningVar[c] + p.Momentum * unbiased;
        }
    }

    /// <summary>Eval statistics: the running mean and 1/√(running var + ε).</summary>
    public static void RunningStats(Index1D t, int n, int chunk, BatchNormRunningStatsArgs a)
    {
        int end = Chunk.End(t, chunk, n);
        for (int c = Chunk.Start(t, chunk); c < end; c++)
        {
            a.Stats[c] = a.RunningMean[c];
            a.Stats[a.Geometry.C + c] = XMath.Rsqrt(a.RunningVar[c] + a.Geometry.Eps);
        }
    }

    /// <summary>y = γ (x − μ)·invstd + β; one element per iteration.</summary>
    public static void Normalize(Index1D t, int n, int chunk, BatchNormNormalizeArgs a)
    {
        BatchNormParams p = a.Geometry;
        var stats = a.Stats;
        int end = Chunk.End(t, chunk, n);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByPlane.Div(i);
            int c = p.ByC.Mod(r, p.ByC.Div(r));
            a.Y[i] = a.Gamma[c] * (a.X[i] - stats[c]) * stats[p.C + c] + a.Shift[c];
        }
    }

    /// <summary>Per channel: Σdy and Σdy·x̂ into stats, and the parameter gradients dγ, dβ (scaled old values by paramBeta).</summary>
    public static void BackwardReduce(Index1D t, int n, int chunk, BatchNormReduceArgs a)
    {
        BatchNormParams p = a.Geometry;
        var x = a.X;
        var dy = a.Dy;
        var stats = a.Stats;
        var dgamma = a.DGamma;
        var dbeta = a.DShift;
        float paramBeta = a.ParamBeta;
        int end = Chunk.End(t, chunk, n);
        for (int c = Chunk.Start(t, chunk); c < end; c++)
        {
            float mean = stats[c], inv = stats[p.C + c];
            double sdy = 0, sdyx = 0;
            for (int nn = 0; nn < p.N; nn++)
            {
                int b = (nn * p.C + c) * p.Plane;
                for (int s = 0; s < p.Plane; s++)
                {
                    float g = dy[b + s];
                    sdy += g;
                    sdyx += g * (x[b + s] - mean) * inv;
                }
            }
            stats[2 * p.C + c] = (float)sdy;
            stats[3 * p.C + c] = (float)sdyx;
            dgamma[c] = paramBeta == 0f ? (float)sdyx : paramBeta * dgamma[c] + (float)sdyx;
            dbeta[c] = paramBeta == 0f ? (float)sdy : paramBeta * dbeta[c] + (float)sdy;
        }
    }

    /// <summary>dx from the reduced sums; <see cref="BatchNormDataArgs.Training"/> = 0 treats the statistics as constants.</summary>
    public static void BackwardData(Index1D t, int n, int chunk, BatchNormDataArgs a)
    {
        BatchNormParams p = a.Geometry;
        var stats = a.Stats;
        int end = Chunk.End(t, chunk, n);
        float invM = 1f / (p.N * p.Plane);
        for (int i = Chunk.Start(t, chunk); i < end; i++)
        {
            int r = p.ByPlane.Div(i);
            int c = p.ByC.Mod(r, p.ByC.Div(r));
            float inv = stats[p.C + c];
            float g = a.Dy[i];
            if (a.Training != 0)
            {
                float xhat = (a.X[i] - stats[c]) * inv;
                g -= (stats[2 * p.C + c] + xhat * stats[3 * p.C + c]) * invM;
            }
            g *= a.Gamma[c] * inv;
            a.Dx[i] = a.Beta == 0f ? g : a.Beta * a.Dx[i] + g;
        }
    }
}

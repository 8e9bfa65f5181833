using System.Runtime.CompilerServices;
using GpuCnn.Kernels.Loss;
using ILGPU.Algorithms;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="LossKernels.SoftmaxCrossEntropy"/> over host pointers: a row's sums and exponentials keep the body's
/// order and its XMath calls, so it stays scalar (rows are few; the gain is in leaving ArrayView indexing).
/// </summary>
internal sealed unsafe class SoftmaxCrossEntropyOverride : HostOverride<SoftmaxCrossEntropyArgs>
{
    protected override int Grain => 256;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in SoftmaxCrossEntropyArgs a)
    {
        int classes = a.Classes;
        float* logits = HostMemory.Ptr(a.Logits), dlogits = HostMemory.Ptr(a.DLogits), loss = HostMemory.Ptr(a.Loss), correct = HostMemory.Ptr(a.Correct);
        int* labels = HostMemory.Ptr(a.Labels);
        for (int b = start; b < end; b++)
        {
            float* z = logits + (long)b * classes, dz = dlogits + (long)b * classes;
            int label = labels[b];
            if (SoftmaxRow.Ignored(label, classes, dz, loss + b, correct + b)) continue;
            int arg = SoftmaxRow.Stats(z, classes, out float max, out float sum, out float logSum);
            loss[b] = logSum - (z[label] - max);
            correct[b] = arg == label ? 1f : 0f;
            float inv = 1f / sum;
            for (int c = 0; c < classes; c++)
            {
                float pc = XMath.Exp(z[c] - max) * inv;
                dz[c] = a.Scale * (c == label ? pc - 1f : pc);
            }
        }
    }

    protected override HostOverride<SoftmaxCrossEntropyArgs> Clone() => new SoftmaxCrossEntropyOverride();
}

/// <summary><see cref="LossKernels.AccumulateStats"/> (one thread) over host pointers.</summary>
internal sealed unsafe class AccumulateStatsOverride : HostOverride<LossStatsArgs>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in LossStatsArgs a)
    {
        if (start != 0) return; // the body's thread 0 does the work
        float* loss = HostMemory.Ptr(a.Loss), correct = HostMemory.Ptr(a.Correct);
        int* labels = HostMemory.Ptr(a.Labels);
        double* stats = HostMemory.Ptr(a.Stats);
        double l = 0, c = 0, v = 0;
        for (int b = 0; b < a.Rows; b++)
        {
            if (labels[b] < 0) continue;
            l += loss[b];
            c += correct[b];
            v += 1;
        }
        stats[0] += l;
        stats[1] += c;
        stats[2] += v;
    }

    protected override HostOverride<LossStatsArgs> Clone() => new AccumulateStatsOverride();
}

/// <summary><see cref="CrossEntropyKernels.Rows"/> (weights, smoothing, ignore index) over host pointers, in the body's order.</summary>
internal sealed unsafe class CrossEntropyOverride : HostOverride<CrossEntropyArgs>
{
    protected override int Grain => 256;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in CrossEntropyArgs a)
    {
        int classes = a.Classes;
        float smooth = a.Smoothing / classes;
        float* logits = HostMemory.Ptr(a.Logits), dlogits = HostMemory.Ptr(a.DLogits), loss = HostMemory.Ptr(a.Loss), correct = HostMemory.Ptr(a.Correct);
        float* weights = HostMemory.Ptr(a.Weights), rowGrad = HostMemory.Ptr(a.RowGrad);
        int* labels = HostMemory.Ptr(a.Labels);
        for (int b = start; b < end; b++)
        {
            float* z = logits + (long)b * classes, dz = dlogits + (long)b * classes;
            int label = labels[b];
            if (SoftmaxRow.Ignored(label, classes, dz, loss + b, correct + b)) continue;
            int arg = SoftmaxRow.Stats(z, classes, out float max, out float sum, out float logSum);
            float wy = weights[label];
            float smoothed = 0f;
            for (int c = 0; c < classes; c++) smoothed += weights[c] * (logSum - (z[c] - max));
            loss[b] = (1f - a.Smoothing) * wy * (logSum - (z[label] - max)) + smooth * smoothed;
            correct[b] = arg == label ? 1f : 0f;
            float inv = 1f / sum;
            float scale = a.Scale * rowGrad[b];
            for (int c = 0; c < classes; c++)
            {
                float pc = XMath.Exp(z[c] - max) * inv;
                float g = (1f - a.Smoothing) * wy * (c == label ? pc - 1f : pc) + smooth * (pc * a.WeightSum - weights[c]);
                dz[c] = scale * g;
            }
        }
    }

    protected override HostOverride<CrossEntropyArgs> Clone() => new CrossEntropyOverride();
}

/// <summary>Registers the losses' overrides.</summary>
internal sealed class HostLossOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        HostOverrides.Add<SoftmaxCrossEntropyArgs>(LossKernels.SoftmaxCrossEntropy, new SoftmaxCrossEntropyOverride());
        HostOverrides.Add<LossStatsArgs>(LossKernels.AccumulateStats, new AccumulateStatsOverride());
        HostOverrides.Add<CrossEntropyArgs>(CrossEntropyKernels.Rows, new CrossEntropyOverride());
    }
}

/// <summary>The part of a softmax cross-entropy row that both loss kernels compute alike, in their order.</summary>
internal static unsafe class SoftmaxRow
{
    /// <summary>A label outside [0, classes) is ignored: zero gradient, loss and hit. Returns whether it was.</summary>
    public static bool Ignored(int label, int classes, float* dz, float* loss, float* correct)
    {
        if (label >= 0 && label < classes) return false;
        for (int c = 0; c < classes; c++) dz[c] = 0f;
        *loss = 0f;
        *correct = 0f;
        return true;
    }

    /// <summary>The first arg max of the row, its max, Σ exp(z − max) and its log.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Stats(float* z, int classes, out float max, out float sum, out float logSum)
    {
        max = z[0];
        int arg = 0;
        for (int c = 1; c < classes; c++)
        {
            float v = z[c];
            if (v > max) { max = v; arg = c; }
        }
        sum = 0f;
        for (int c = 0; c < classes; c++) sum += XMath.Exp(z[c] - max);
        logSum = XMath.Log(sum);
        return arg;
    }
}

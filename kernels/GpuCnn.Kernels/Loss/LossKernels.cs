using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Loss;

/// <summary>
/// Softmax cross-entropy over logits z[B, C] with integer labels, fused forward and backward (one row per iteration):
/// p = softmax(z), loss_b = −log p[label_b] = logΣexp(z) − z[label],
/// dz = scale · (p − onehot(label)), with scale = 1 / (number of valid labels) for a mean reduction.
/// A label &lt; 0 marks a padding row: zero loss, zero gradient, not counted.
/// </summary>
public static class LossKernels
{
    /// <summary>Writes per-row loss, per-row correctness (argmax == label) and the logits' gradient.</summary>
    public static void SoftmaxCrossEntropy(Index1D t, int n, int chunk, int classes,
        ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> loss, ArrayView<float> correct,
        ArrayView<float> dlogits, float scale)
    {
        int end = Chunk.End(t, chunk, n);
        for (int b = Chunk.Start(t, chunk); b < end; b++)
        {
            int row = b * classes;
            int label = labels[b];
            if (label < 0 || label >= classes)
            {
                for (int c = 0; c < classes; c++) dlogits[row + c] = 0f;
                loss[b] = 0f;
                correct[b] = 0f;
                continue;
            }
            float max = logits[row];
            int arg = 0;
            for (int c = 1; c < classes; c++)
            {
                float v = logits[row + c];
                if (v > max) { max = v; arg = c; }
            }
            float sum = 0f;
            for (int c = 0; c < classes; c++) sum += XMath.Exp(logits[row + c] - max);
            float logSum = XMath.Log(sum);
            loss[b] = logSum - (logits[row + label] - max);
            correct[b] = arg == label ? 1f : 0f;
            float inv = 1f / sum;
            for (int c = 0; c < classes; c++)
            {
                float pc = XMath.Exp(logits[row + c] - max) * inv;
                dlogits[row + c] = scale * (c == label ? pc - 1f : pc);
            }
        }
    }

    /// <summary>
    /// Adds a batch's summed loss, correct count and valid count to stats[0..2]. One thread (n = 1): the batch is
    /// small, and accumulating on the device keeps the host from synchronising every step.
    /// </summary>
    public static void AccumulateStats(Index1D t, int rows, ArrayView<float> loss, ArrayView<float> correct,
        ArrayView<int> labels, ArrayView<double> stats)
    {
        if (t.X != 0) return;
        double l = 0, c = 0, v = 0;
        for (int b = 0; b < rows; b++)
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
}

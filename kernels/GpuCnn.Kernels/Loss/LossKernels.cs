using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Loss;

/// <summary>Arguments of <see cref="LossKernels.SoftmaxCrossEntropy"/> (one row of logits per element of n).</summary>
public struct SoftmaxCrossEntropyArgs
{
    /// <summary>Classes per row.</summary>
    public int Classes;
    /// <summary>Logits z[B, C].</summary>
    public ArrayView<float> Logits;
    /// <summary>Label per row; &lt; 0 marks a padding row.</summary>
    public ArrayView<int> Labels;
    /// <summary>Per-row loss (written).</summary>
    public ArrayView<float> Loss;
    /// <summary>Per-row correctness, 1 where argmax equals the label (written).</summary>
    public ArrayView<float> Correct;
    /// <summary>Gradient of the scaled loss with respect to the logits (written).</summary>
    public ArrayView<float> DLogits;
    /// <summary>Scale of the gradient: 1 / valid rows for a mean.</summary>
    public float Scale;
}

/// <summary>Arguments of <see cref="LossKernels.AccumulateStats"/>.</summary>
public struct LossStatsArgs
{
    /// <summary>Rows of the batch.</summary>
    public int Rows;
    /// <summary>Per-row loss.</summary>
    public ArrayView<float> Loss;
    /// <summary>Per-row correctness.</summary>
    public ArrayView<float> Correct;
    /// <summary>Per-row label; rows with a label &lt; 0 are skipped.</summary>
    public ArrayView<int> Labels;
    /// <summary>Running sums: loss, correct count, valid count.</summary>
    public ArrayView<double> Stats;
}

/// <summary>
/// Softmax cross-entropy over logits z[B, C] with integer labels, fused forward and backward (one row per iteration):
/// p = softmax(z), loss_b = −log p[label_b] = logΣexp(z) − z[label],
/// dz = scale · (p − onehot(label)), with scale = 1 / (number of valid labels) for a mean reduction.
/// A label &lt; 0 marks a padding row: zero loss, zero gradient, not counted.
/// </summary>
public static class LossKernels
{
    /// <summary>Writes per-row loss, per-row correctness (argmax == label) and the logits' gradient.</summary>
    public static void SoftmaxCrossEntropy(Index1D t, int n, int chunk, SoftmaxCrossEntropyArgs a)
    {
        int classes = a.Classes;
        var logits = a.Logits;
        var dlogits = a.DLogits;
        int end = Chunk.End(t, chunk, n);
        for (int b = Chunk.Start(t, chunk); b < end; b++)
        {
            int row = b * classes;
            int label = a.Labels[b];
            if (label < 0 || label >= classes)
            {
                for (int c = 0; c < classes; c++) dlogits[row + c] = 0f;
                a.Loss[b] = 0f;
                a.Correct[b] = 0f;
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
            a.Loss[b] = logSum - (logits[row + label] - max);
            a.Correct[b] = arg == label ? 1f : 0f;
            float inv = 1f / sum;
            for (int c = 0; c < classes; c++)
            {
                float pc = XMath.Exp(logits[row + c] - max) * inv;
                dlogits[row + c] = a.Scale * (c == label ? pc - 1f : pc);
            }
        }
    }

    /// <summary>
    /// Adds a batch's summed loss, correct count and valid count to stats[0..2]. Launched over n = 1 (one thread):
    /// the batch is small, and accumulating on the device keeps the host from synchronising every step.
    /// </summary>
    public static void AccumulateStats(Index1D t, int n, int chunk, LossStatsArgs a)
    {
        if (t.X != 0) return;
        double l = 0, c = 0, v = 0;
        for (int b = 0; b < a.Rows; b++)
        {
            if (a.Labels[b] < 0) continue;
            l += a.Loss[b];
            c += a.Correct[b];
            v += 1;
        }
        a.Stats[0] += l;
        a.Stats[1] += c;
        a.Stats[2] += v;
    }
}

/// <summary>Arguments of <see cref="CrossEntropyKernels.Rows"/> (one row of logits per element of n).</summary>
public struct CrossEntropyArgs
{
    /// <summary>Classes per row.</summary>
    public int Classes;
    /// <summary>Logits z[B, C].</summary>
    public ArrayView<float> Logits;
    /// <summary>Label per row; a label outside [0, C) (the ignore index, padding) gives zero loss and gradient.</summary>
    public ArrayView<int> Labels;
    /// <summary>Class weights w[C] (ones when unweighted).</summary>
    public ArrayView<float> Weights;
    /// <summary>Σ_c w_c.</summary>
    public float WeightSum;
    /// <summary>Label smoothing ε: the target is (1 − ε)·onehot + ε/C.</summary>
    public float Smoothing;
    /// <summary>Per-row loss (written, unscaled).</summary>
    public ArrayView<float> Loss;
    /// <summary>Per-row correctness, 1 where argmax equals the label (written).</summary>
    public ArrayView<float> Correct;
    /// <summary>Gradient of the reduced loss with respect to the logits (written).</summary>
    public ArrayView<float> DLogits;
    /// <summary>Scale of the gradient: 1 / Σ_b w[label_b] for a mean, 1 for a sum.</summary>
    public float Scale;
    /// <summary>Upstream gradient per row (ones unless the reduction is none): dz_b is scaled by RowGrad[b].</summary>
    public ArrayView<float> RowGrad;
}

/// <summary>
/// Cross-entropy as <c>torch.nn.CrossEntropyLoss</c> with class weights and label smoothing, fused forward and
/// backward per row, with p = softmax(z), y the label and ε the smoothing:
/// loss_b = (1 − ε)·w_y·(−log p_y) + (ε/C)·Σ_c w_c·(−log p_c);
/// ∂loss_b/∂z_c = (1 − ε)·w_y·(p_c − [c = y]) + (ε/C)·(p_c·Σ_k w_k − w_c), times Scale·RowGrad[b].
/// </summary>
public static class CrossEntropyKernels
{
    /// <summary>Writes per-row loss and correctness and the scaled gradient.</summary>
    public static void Rows(Index1D t, int n, int chunk, CrossEntropyArgs a)
    {
        int classes = a.Classes;
        int end = Chunk.End(t, chunk, n);
        float smooth = a.Smoothing / classes;
        for (int b = Chunk.Start(t, chunk); b < end; b++)
        {
            int row = b * classes;
            int label = a.Labels[b];
            if (label < 0 || label >= classes)
            {
                for (int c = 0; c < classes; c++) a.DLogits[row + c] = 0f;
                a.Loss[b] = 0f;
                a.Correct[b] = 0f;
                continue;
            }
            float max = a.Logits[row];
            int arg = 0;
            for (int c = 1; c < classes; c++)
            {
                float v = a.Logits[row + c];
                if (v > max) { max = v; arg = c; }
            }
            float sum = 0f;
            for (int c = 0; c < classes; c++) sum += XMath.Exp(a.Logits[row + c] - max);
            float logSum = XMath.Log(sum);
            float wy = a.Weights[label];
            float smoothed = 0f;
            for (int c = 0; c < classes; c++) smoothed += a.Weights[c] * (logSum - (a.Logits[row + c] - max));
            a.Loss[b] = (1f - a.Smoothing) * wy * (logSum - (a.Logits[row + label] - max)) + smooth * smoothed;
            a.Correct[b] = arg == label ? 1f : 0f;
            float inv = 1f / sum;
            float scale = a.Scale * a.RowGrad[b];
            for (int c = 0; c < classes; c++)
            {
                float pc = XMath.Exp(a.Logits[row + c] - max) * inv;
                float g = (1f - a.Smoothing) * wy * (c == label ? pc - 1f : pc) + smooth * (pc * a.WeightSum - a.Weights[c]);
                a.DLogits[row + c] = scale * g;
            }
        }
    }
}

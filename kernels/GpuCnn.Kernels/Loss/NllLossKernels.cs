using GpuCnn.Kernels.Elementwise;
using ILGPU;
using ILGPU.Algorithms;

namespace GpuCnn.Kernels.Loss;

/// <summary>Arguments of <see cref="NllLossKernels.Rows"/> (one row of log-probabilities per element of n).</summary>
public struct NllLossArgs
{
    /// <summary>Classes per row.</summary>
    public int Classes;
    /// <summary>Log-probabilities x[B, C] (a LogSoftmax's output).</summary>
    public ArrayView<float> X;
    /// <summary>Label per row; a label outside [0, C) (the ignore index, padding) gives zero loss and gradient.</summary>
    public ArrayView<int> Labels;
    /// <summary>Class weights w[C] (ones when unweighted).</summary>
    public ArrayView<float> Weights;
    /// <summary>Per-row loss (written, unscaled).</summary>
    public ArrayView<float> Loss;
    /// <summary>Per-row correctness, 1 where argmax equals the label (written).</summary>
    public ArrayView<float> Correct;
    /// <summary>Gradient of the reduced loss with respect to x (written).</summary>
    public ArrayView<float> Dx;
    /// <summary>Scale of the gradient: 1 / Σ_b w[label_b] for a mean, 1 for a sum.</summary>
    public float Scale;
    /// <summary>Upstream gradient per row (ones unless the reduction is none).</summary>
    public ArrayView<float> RowGrad;
}

/// <summary>
/// The negative log-likelihood loss on log-probabilities, as <c>torch.nn.NLLLoss</c>, and the LogSoftmax before it.
/// <para>NLL: loss_b = −w_y·x[b, y]; ∂loss_b/∂x[b, c] = −w_y·[c = y], times Scale·RowGrad[b].</para>
/// <para>LogSoftmax over the channels of each (sample, pixel), as <c>torch.nn.LogSoftmax(dim=1)</c>, with Softmax's arguments: y_c = x_c − max − log Σ_k e^{x_k − max}; dx_c = dy_c − e^{y_c}·Σ_k dy_k.</para>
/// </summary>
public static class NllLossKernels
{
    /// <summary>Writes per-row loss and correctness and the scaled gradient.</summary>
    public static void Rows(Index1D t, int n, int chunk, NllLossArgs a)
    {
        int classes = a.Classes;
        int end = Chunk.End(t, chunk, n);
        for (int b = Chunk.Start(t, chunk); b < end; b++)
        {
            int row = b * classes;
            int label = a.Labels[b];
            for (int c = 0; c < classes; c++) a.Dx[row + c] = 0f;
            if (label < 0 || label >= classes)
            {
                a.Loss[b] = 0f;
                a.Correct[b] = 0f;
                continue;
            }
            int arg = 0;
            for (int c = 1; c < classes; c++)
                if (a.X[row + c] > a.X[row + arg]) arg = c;
            float wy = a.Weights[label];
            a.Loss[b] = -wy * a.X[row + label];
            a.Correct[b] = arg == label ? 1f : 0f;
            a.Dx[row + label] = -wy * a.Scale * a.RowGrad[b];
        }
    }

    /// <summary>LogSoftmax over the channels; one (sample, pixel) per iteration.</summary>
    public static void LogSoftmaxForward(Index1D t, int n, int chunk, SoftmaxForwardArgs a)
    {
        int channels = a.Channels, plane = a.Plane;
        int end = Chunk.End(t, chunk, n);
        for (int r = Chunk.Start(t, chunk); r < end; r++)
        {
            int b = (r / plane) * channels * plane + r % plane;
            float max = a.X[b];
            for (int c = 1; c < channels; c++) max = XMath.Max(max, a.X[b + c * plane]);
            float sum = 0f;
            for (int c = 0; c < channels; c++) sum += XMath.Exp(a.X[b + c * plane] - max);
            float shift = max + XMath.Log(sum);
            for (int c = 0; c < channels; c++) a.Y[b + c * plane] = a.X[b + c * plane] - shift;
        }
    }

    /// <summary>LogSoftmax backward from the output y; one (sample, pixel) per iteration.</summary>
    public static void LogSoftmaxBackward(Index1D t, int n, int chunk, SoftmaxBackwardArgs a)
    {
        int channels = a.Channels, plane = a.Plane;
        int end = Chunk.End(t, chunk, n);
        for (int r = Chunk.Start(t, chunk); r < end; r++)
        {
            int b = (r / plane) * channels * plane + r % plane;
            float total = 0f;
            for (int c = 0; c < channels; c++) total += a.Dy[b + c * plane];
            for (int c = 0; c < channels; c++)
            {
                int i = b + c * plane;
                float g = a.Dy[i] - XMath.Exp(a.Y[i]) * total;
                a.Dx[i] = a.Beta == 0f ? g : a.Beta * a.Dx[i] + g;
            }
        }
    }
}

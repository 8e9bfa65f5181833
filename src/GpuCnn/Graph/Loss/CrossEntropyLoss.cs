using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// Cross-entropy of logits [batch, classes] against integer labels, as <c>torch.nn.CrossEntropyLoss</c>: a
/// <see cref="Reduction"/>, an ignored label (<see cref="LabelLoss.IgnoreIndex"/>, and any label below 0, the executor's
/// padding), label smoothing and class weights (<see cref="CrossEntropyKernels"/>). A mean divides by the summed
/// weights of the counted labels, as PyTorch's. The statistics sum each counted row's loss (unweighted by that
/// divisor) and count the rows and the correct argmaxes. With <see cref="Reduction.None"/>,
/// <see cref="LossBase.SetRowGradients"/> takes the upstream gradient of each row's loss.
/// </summary>
public sealed class CrossEntropyLoss : LabelLoss
{
    Kernel<CrossEntropyArgs>? loss;

    /// <summary>A cross-entropy loss; <paramref name="weights"/> has one positive-or-zero weight per class.</summary>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100, float labelSmoothing = 0f, float[]? weights = null)
        : base(reduction, ignoreIndex, weights)
    {
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"CrossEntropyLoss: label_smoothing must be in [0, 1], got {labelSmoothing}");
        LabelSmoothing = labelSmoothing;
    }

    /// <inheritdoc/>
    protected override string Name => "CrossEntropyLoss";
    /// <summary>ε: the target distribution is (1 − ε)·onehot + ε/C.</summary>
    public float LabelSmoothing { get; }

    /// <inheritdoc/>
    protected override void LoadKernel(ComputeDevice device) => loss = device.LoadKernel<CrossEntropyArgs>(CrossEntropyKernels.Rows);

    /// <inheritdoc/>
    protected override void Launch(ArrayView<float> logits, ArrayView<float> gradient, float scale) =>
        loss!.Launch(Batch, new CrossEntropyArgs
        {
            Classes = Classes, Logits = logits, Labels = LabelView, Weights = WeightView,
            WeightSum = WeightSum, Smoothing = LabelSmoothing, Loss = RowLossView, Correct = CorrectView,
            DLogits = gradient, Scale = scale, RowGrad = RowGradView,
        });
}

/// <summary>
/// The negative log-likelihood of log-probabilities [batch, classes] (a <see cref="Layers.LogSoftmax"/>'s output)
/// against integer labels, as <c>torch.nn.NLLLoss</c>: loss_b = −w_y·x[b, y], with a <see cref="Reduction"/>,
/// <see cref="LabelLoss.IgnoreIndex"/> and class weights (<see cref="NllLossKernels"/>). LogSoftmax then NLLLoss is
/// <see cref="CrossEntropyLoss"/>.
/// </summary>
public sealed class NLLLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100, float[]? weights = null)
    : LabelLoss(reduction, ignoreIndex, weights)
{
    Kernel<NllLossArgs>? loss;

    /// <inheritdoc/>
    protected override string Name => "NLLLoss";

    /// <inheritdoc/>
    protected override void LoadKernel(ComputeDevice device) => loss = device.LoadKernel<NllLossArgs>(NllLossKernels.Rows);

    /// <inheritdoc/>
    protected override void Launch(ArrayView<float> x, ArrayView<float> gradient, float scale) =>
        loss!.Launch(Batch, new NllLossArgs
        {
            Classes = Classes, X = x, Labels = LabelView, Weights = WeightView, Loss = RowLossView, Correct = CorrectView,
            Dx = gradient, Scale = scale, RowGrad = RowGradView,
        });
}

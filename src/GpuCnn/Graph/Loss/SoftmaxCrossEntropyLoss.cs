using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// Mean softmax cross-entropy of logits [batch, classes] against integer labels (<see cref="LossKernels"/>): the
/// gradient is scaled by 1 / (valid labels), and the statistics count the summed loss, the rows whose argmax is the
/// label, and the valid rows. <see cref="LossBase.Scale"/> multiplies the gradient, as PyTorch's
/// <c>(loss * scale).backward()</c>: 1/k for each of k equal micro-batches whose accumulated gradients should equal
/// the full batch's mean.
/// </summary>
public sealed class SoftmaxCrossEntropyLoss : LossBase
{
    int classes, valid;
    MemoryBuffer1D<int, Stride1D.Dense>? labels;
    MemoryBuffer1D<float, Stride1D.Dense>? correct;
    HostLink<int>? upload;
    Kernel<SoftmaxCrossEntropyArgs>? loss;

    /// <inheritdoc/>
    protected override string Name => "loss";

    /// <inheritdoc/>
    protected override void PrepareCore(ComputeDevice device, Node output, int batch)
    {
        classes = output.Shape.Rank == 1 ? output.Shape[0] : 0;
        labels = device.Allocate<int>(batch);
        correct = device.Allocate<float>(batch);
        upload = new HostLink<int>(device);
        loss = device.LoadKernel<SoftmaxCrossEntropyArgs>(LossKernels.SoftmaxCrossEntropy);
    }

    /// <inheritdoc/>
    public override int ValidTargets => valid;

    /// <inheritdoc/>
    public override void SetTargets(ReadOnlySpan<int> targets)
    {
        _ = Device;
        if (targets.Length != Batch)
            throw new ShapeMismatchException("labels", $"[{Batch}]", $"[{targets.Length}]");
        int n = 0;
        foreach (int l in targets)
        {
            if (l >= classes && classes > 0)
                throw new ArgumentException($"label {l} is out of range for {classes} classes (output node '{Output.Name}' {Output.Shape})");
            if (l >= 0) n++;
        }
        valid = n;
        upload!.Upload(targets, labels!.View);
    }

    /// <inheritdoc/>
    public override void Run(ArrayView<float> logits, ArrayView<float> gradient)
    {
        _ = Device;
        if (classes == 0)
            throw new ShapeMismatchException($"loss on output '{Output.Name}'", "[classes] per sample (logits)", Output.Shape.ToString());
        loss!.Launch(Batch, new SoftmaxCrossEntropyArgs
        {
            Classes = classes, Logits = logits, Labels = labels!.View, Loss = RowLossView, Correct = correct!.View,
            DLogits = gradient, Scale = valid > 0 ? Scale / valid : 0f,
        });
        Accumulate(correct.View, labels.View);
    }

    /// <inheritdoc/>
    protected override void DisposeCore()
    {
        upload?.Dispose();
        labels?.Dispose();
        correct?.Dispose();
        upload = null;
        labels = null;
        correct = null;
    }
}

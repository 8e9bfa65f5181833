using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// Mean softmax cross-entropy of logits [batch, classes] against integer labels (<see cref="LossKernels"/>): the
/// gradient is scaled by 1 / (valid labels), and the statistics count the summed loss, the rows whose argmax is the
/// label, and the valid rows.
/// </summary>
public sealed class SoftmaxCrossEntropyLoss : ILoss
{
    ComputeDevice? device;
    Node? output;
    int batch, classes, valid;
    MemoryBuffer1D<int, Stride1D.Dense>? labels;
    MemoryBuffer1D<float, Stride1D.Dense>? rows, correct;
    MemoryBuffer1D<double, Stride1D.Dense>? stats;
    HostLink<int>? upload;
    Kernel<SoftmaxCrossEntropyArgs>? loss;
    Kernel<LossStatsArgs>? accumulate;

    /// <inheritdoc/>
    public void Prepare(ComputeDevice device, Node output, int batch)
    {
        if (this.device is not null) throw new InvalidOperationException("this loss is already prepared; create one per executor");
        this.device = device;
        this.output = output;
        this.batch = batch;
        classes = output.Shape.Rank == 1 ? output.Shape[0] : 0;
        labels = device.Allocate<int>(batch);
        rows = device.Allocate<float>(batch);
        correct = device.Allocate<float>(batch);
        stats = device.Allocate<double>(3);
        stats.View.MemSetToZero(device.Stream);
        upload = new HostLink<int>(device);
        loss = device.LoadKernel<SoftmaxCrossEntropyArgs>(LossKernels.SoftmaxCrossEntropy);
        accumulate = device.LoadKernel<LossStatsArgs>(LossKernels.AccumulateStats);
    }

    ComputeDevice Device => device ?? throw new InvalidOperationException("the loss is not prepared");

    /// <inheritdoc/>
    public int ValidTargets => valid;

    /// <summary>
    /// Multiplies the gradient (not the statistics), as PyTorch's <c>(loss * scale).backward()</c>: 1/k for each of
    /// k equal micro-batches whose accumulated gradients should equal the full batch's mean.
    /// </summary>
    public float Scale { get; set; } = 1f;

    /// <inheritdoc/>
    public void SetTargets(ReadOnlySpan<int> targets)
    {
        _ = Device;
        if (targets.Length != batch)
            throw new ShapeMismatchException("labels", $"[{batch}]", $"[{targets.Length}]");
        int n = 0;
        foreach (int l in targets)
        {
            if (l >= classes && classes > 0)
                throw new ArgumentException($"label {l} is out of range for {classes} classes (output node '{output!.Name}' {output.Shape})");
            if (l >= 0) n++;
        }
        valid = n;
        upload!.Upload(targets, labels!.View);
    }

    /// <inheritdoc/>
    public void Run(ArrayView<float> logits, ArrayView<float> gradient)
    {
        _ = Device;
        if (classes == 0)
            throw new ShapeMismatchException($"loss on output '{output!.Name}'", "[classes] per sample (logits)", output.Shape.ToString());
        loss!.Launch(batch, new SoftmaxCrossEntropyArgs
        {
            Classes = classes, Logits = logits, Labels = labels!.View, Loss = rows!.View, Correct = correct!.View,
            DLogits = gradient, Scale = valid > 0 ? Scale / valid : 0f,
        });
        accumulate!.Launch(1, new LossStatsArgs { Rows = batch, Loss = rows.View, Correct = correct.View, Labels = labels.View, Stats = stats!.View });
    }

    /// <inheritdoc/>
    public float[] GetRowLosses()
    {
        var a = new float[batch];
        rows!.View.CopyToCPU(Device.Stream, a);
        return a;
    }

    /// <inheritdoc/>
    public (double LossSum, double Correct, double Count) ReadStatistics()
    {
        var a = new double[3];
        var stream = Device.Stream;
        stats!.View.CopyToCPU(stream, a);
        stats.View.MemSetToZero(stream);
        return (a[0], a[1], a[2]);
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        upload?.Dispose();
        labels?.Dispose();
        rows?.Dispose();
        correct?.Dispose();
        stats?.Dispose();
        upload = null;
        labels = null;
        rows = correct = null;
        stats = null;
    }
}

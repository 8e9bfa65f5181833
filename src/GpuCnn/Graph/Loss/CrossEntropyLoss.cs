using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// Cross-entropy of logits [batch, classes] against integer labels, as <c>torch.nn.CrossEntropyLoss</c>: a
/// <see cref="Reduction"/>, an ignored label (<see cref="IgnoreIndex"/>, and any label below 0, the executor's
/// padding), label smoothing and class weights (<see cref="CrossEntropyKernels"/>). A mean divides by the summed
/// weights of the counted labels, as PyTorch's. The statistics sum each counted row's loss (unweighted by that
/// divisor) and count the rows and the correct argmaxes.
/// </summary>
public sealed class CrossEntropyLoss : ILoss
{
    readonly float[]? classWeights;
    float weightSum;
    ComputeDevice? device;
    Node? output;
    int batch, classes, valid;
    float divisor;
    int[] hostLabels = Array.Empty<int>();
    MemoryBuffer1D<int, Stride1D.Dense>? labels;
    MemoryBuffer1D<float, Stride1D.Dense>? rows, correct, weights;
    MemoryBuffer1D<double, Stride1D.Dense>? stats;
    HostLink<int>? upload;
    Kernel<CrossEntropyArgs>? loss;
    Kernel<LossStatsArgs>? accumulate;

    /// <summary>A cross-entropy loss; <paramref name="weights"/> has one positive-or-zero weight per class.</summary>
    public CrossEntropyLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100, float labelSmoothing = 0f, float[]? weights = null)
    {
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"CrossEntropyLoss: label_smoothing must be in [0, 1], got {labelSmoothing}");
        if (weights is not null && weights.Any(w => !(w >= 0f))) throw new ArgumentException("CrossEntropyLoss: class weights must be non-negative");
        Reduction = reduction;
        IgnoreIndex = ignoreIndex;
        LabelSmoothing = labelSmoothing;
        classWeights = weights?.ToArray();
    }

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }
    /// <summary>The label whose rows count for nothing (PyTorch's ignore_index, −100 by default).</summary>
    public int IgnoreIndex { get; }
    /// <summary>ε: the target distribution is (1 − ε)·onehot + ε/C.</summary>
    public float LabelSmoothing { get; }
    /// <summary>Multiplies the gradient (not the statistics), as <c>(loss * scale).backward()</c>.</summary>
    public float Scale { get; set; } = 1f;

    /// <inheritdoc/>
    public void Prepare(ComputeDevice device, Node output, int batch)
    {
        if (this.device is not null) throw new InvalidOperationException("this loss is already prepared; create one per executor");
        classes = output.Shape.Rank == 1 ? output.Shape[0] : 0;
        if (classes == 0) throw new ShapeMismatchException($"CrossEntropyLoss on output '{output.Name}'", "[classes] per sample (logits)", output.Shape.ToString());
        if (classWeights is not null && classWeights.Length != classes)
            throw new ShapeMismatchException($"CrossEntropyLoss weights for output '{output.Name}'", $"[{classes}]", $"[{classWeights.Length}]");
        weightSum = classWeights?.Sum() ?? classes;
        this.device = device;
        this.output = output;
        this.batch = batch;
        hostLabels = new int[batch];
        labels = device.Allocate<int>(batch);
        rows = device.Allocate<float>(batch);
        correct = device.Allocate<float>(batch);
        weights = device.Allocate<float>(classes);
        weights.View.CopyFromCPU(device.Stream, classWeights ?? Enumerable.Repeat(1f, classes).ToArray());
        stats = device.Allocate<double>(3);
        stats.View.MemSetToZero(device.Stream);
        upload = new HostLink<int>(device);
        loss = device.LoadKernel<CrossEntropyArgs>(CrossEntropyKernels.Rows);
        accumulate = device.LoadKernel<LossStatsArgs>(LossKernels.AccumulateStats);
    }

    ComputeDevice Device => device ?? throw new InvalidOperationException("the loss is not prepared");

    float WeightOf(int c) => classWeights?[c] ?? 1f;

    /// <inheritdoc/>
    public int ValidTargets => valid;

    /// <inheritdoc/>
    public void SetTargets(ReadOnlySpan<int> targets)
    {
        _ = Device;
        if (targets.Length != batch) throw new ShapeMismatchException("labels", $"[{batch}]", $"[{targets.Length}]");
        int n = 0;
        double w = 0;
        for (int b = 0; b < batch; b++)
        {
            int l = targets[b];
            bool ignored = l == IgnoreIndex || l < 0;
            if (!ignored && l >= classes)
                throw new ArgumentException($"label {l} is out of range for {classes} classes (output node '{output!.Name}' {output.Shape})");
            hostLabels[b] = ignored ? -1 : l;
            if (!ignored) { n++; w += WeightOf(l); }
        }
        valid = n;
        divisor = (float)w;
        upload!.Upload(hostLabels, labels!.View);
    }

    /// <inheritdoc/>
    public void Run(ArrayView<float> logits, ArrayView<float> gradient)
    {
        _ = Device;
        float scale = Reduction != Reduction.Mean ? Scale : divisor > 0 ? Scale / divisor : 0f;
        loss!.Launch(batch, new CrossEntropyArgs
        {
            Classes = classes, Logits = logits, Labels = labels!.View, Weights = weights!.View,
            WeightSum = weightSum, Smoothing = LabelSmoothing, Loss = rows!.View, Correct = correct!.View,
            DLogits = gradient, Scale = scale,
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
        stats!.View.CopyToCPU(Device.Stream, a);
        stats.View.MemSetToZero(Device.Stream);
        return (a[0], a[1], a[2]);
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        upload?.Dispose();
        foreach (var b in new IDisposable?[] { labels, rows, correct, weights, stats }) b?.Dispose();
        upload = null;
        labels = null;
        rows = correct = weights = null;
        stats = null;
    }
}

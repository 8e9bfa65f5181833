using GpuCnn.Devices;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// What <see cref="CrossEntropyLoss"/> and <see cref="NLLLoss"/> share: integer labels with an ignored label
/// (<see cref="IgnoreIndex"/>, and any label below 0, the executor's padding), class weights, a reduction whose mean
/// divides by the summed weights of the counted labels (as PyTorch's), and per-row correctness (argmax = label).
/// </summary>
public abstract class LabelLoss : LossBase
{
    readonly float[]? classWeights;
    int valid;
    float divisor;
    int[] hostLabels = Array.Empty<int>();
    MemoryBuffer1D<int, Stride1D.Dense>? labels;
    MemoryBuffer1D<float, Stride1D.Dense>? correct, weights;
    HostLink<int>? upload;

    /// <summary>A label loss; <paramref name="weights"/> has one positive-or-zero weight per class.</summary>
    protected LabelLoss(Reduction reduction, int ignoreIndex, float[]? weights)
    {
        if (weights is not null && weights.Any(w => !(w >= 0f))) throw new ArgumentException($"{GetType().Name}: class weights must be non-negative");
        Reduction = reduction;
        IgnoreIndex = ignoreIndex;
        classWeights = weights?.ToArray();
    }

    /// <inheritdoc/>
    public override Reduction Reduction { get; }
    /// <summary>The label whose rows count for nothing (PyTorch's ignore_index, −100 by default).</summary>
    public int IgnoreIndex { get; }
    /// <summary>Classes per row (after <see cref="LossBase.Prepare"/>).</summary>
    protected int Classes { get; private set; }
    /// <summary>Σ_c w_c.</summary>
    protected float WeightSum { get; private set; }
    /// <summary>Labels on the device (−1 for ignored rows).</summary>
    protected ArrayView<int> LabelView => labels!.View;
    /// <summary>Class weights on the device (ones when unweighted).</summary>
    protected ArrayView<float> WeightView => weights!.View;
    /// <summary>Per-row correctness, written by the kernel.</summary>
    protected ArrayView<float> CorrectView => correct!.View;

    /// <inheritdoc/>
    protected override void PrepareCore(ComputeDevice device, Node output, int batch)
    {
        int classes = output.Shape.Rank == 1 ? output.Shape[0] : 0;
        if (classes == 0) throw new ShapeMismatchException($"{Name} on output '{output.Name}'", "[classes] per sample", output.Shape.ToString());
        if (classWeights is not null && classWeights.Length != classes)
            throw new ShapeMismatchException($"{Name} weights for output '{output.Name}'", $"[{classes}]", $"[{classWeights.Length}]");
        Classes = classes;
        WeightSum = classWeights?.Sum() ?? classes;
        hostLabels = new int[batch];
        labels = device.Allocate<int>(batch);
        correct = device.Allocate<float>(batch);
        weights = device.Allocate<float>(classes);
        weights.View.CopyFromCPU(device.Stream, classWeights ?? Enumerable.Repeat(1f, classes).ToArray());
        upload = new HostLink<int>(device);
        LoadKernel(device);
    }

    /// <summary>Loads the loss's kernel.</summary>
    protected abstract void LoadKernel(ComputeDevice device);

    /// <summary>Launches the kernel: row losses, correctness and the gradient times <paramref name="scale"/>.</summary>
    protected abstract void Launch(ArrayView<float> output, ArrayView<float> gradient, float scale);

    float WeightOf(int c) => classWeights?[c] ?? 1f;

    /// <inheritdoc/>
    public override int ValidTargets => valid;

    /// <inheritdoc/>
    public override void SetTargets(ReadOnlySpan<int> targets)
    {
        _ = Device;
        if (targets.Length != Batch) throw new ShapeMismatchException("labels", $"[{Batch}]", $"[{targets.Length}]");
        int n = 0;
        double w = 0;
        for (int b = 0; b < Batch; b++)
        {
            int l = targets[b];
            bool ignored = l == IgnoreIndex || l < 0;
            if (!ignored && l >= Classes)
                throw new ArgumentException($"label {l} is out of range for {Classes} classes (output node '{Output.Name}' {Output.Shape})");
            hostLabels[b] = ignored ? -1 : l;
            if (!ignored) { n++; w += WeightOf(l); }
        }
        valid = n;
        divisor = (float)w;
        upload!.Upload(hostLabels, labels!.View);
    }

    /// <inheritdoc/>
    public override void Run(ArrayView<float> output, ArrayView<float> gradient)
    {
        _ = Device;
        Launch(output, gradient, Reduction != Reduction.Mean ? Scale : divisor > 0 ? Scale / divisor : 0f);
        Accumulate(correct!.View, labels!.View);
    }

    /// <inheritdoc/>
    protected override void DisposeCore()
    {
        upload?.Dispose();
        foreach (var b in new IDisposable?[] { labels, correct, weights }) b?.Dispose();
        upload = null;
        labels = null;
        correct = weights = null;
    }
}

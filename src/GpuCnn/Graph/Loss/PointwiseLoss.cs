using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>How a loss reduces its elements, as PyTorch's <c>reduction</c>.</summary>
public enum Reduction
{
    /// <summary>The mean over every element of the batch.</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>Per-element losses (<see cref="ILoss.GetRowLosses"/> gives each row's sum); the gradient is that of their sum.</summary>
    None,
}

/// <summary>A loss with float targets of the output's shape (regression, multi-label): <see cref="Executor.SetTargets"/>.</summary>
public interface IFloatTargetLoss : ILoss
{
    /// <summary>Uploads the batch's targets, one per output value.</summary>
    void SetTargets(ReadOnlySpan<float> targets);
}

/// <summary>
/// An element-wise loss of the output against float targets of the same shape (<see cref="PointwiseLossKernels"/>).
/// The statistics count each row's loss (its mean for <see cref="Reduction.Mean"/>, its sum otherwise) and the rows,
/// so LossSum / Count is the batch's loss for a mean; there is no accuracy.
/// </summary>
public abstract class PointwiseLoss<TOp> : IFloatTargetLoss where TOp : struct, IPointwiseLoss
{
    ComputeDevice? device;
    Node? output;
    int batch, perRow;
    MemoryBuffer1D<float, Stride1D.Dense>? targets, rows, zeros;
    MemoryBuffer1D<int, Stride1D.Dense>? rowLabels;
    MemoryBuffer1D<double, Stride1D.Dense>? stats;
    HostLink<float>? upload;
    Kernel<PointwiseLossArgs<TOp>>? kernel;
    Kernel<LossStatsArgs>? accumulate;

    /// <summary>A loss with <paramref name="reduction"/>.</summary>
    protected PointwiseLoss(Reduction reduction) => Reduction = reduction;

    /// <summary>The reduction.</summary>
    public Reduction Reduction { get; }

    /// <summary>Multiplies the gradient (not the statistics), as <c>(loss * scale).backward()</c>.</summary>
    public float Scale { get; set; } = 1f;

    /// <summary>Name in messages.</summary>
    protected abstract string Name { get; }

    /// <inheritdoc/>
    public void Prepare(ComputeDevice device, Node output, int batch)
    {
        if (this.device is not null) throw new InvalidOperationException($"this {Name} is already prepared; create one per executor");
        this.device = device;
        this.output = output;
        this.batch = batch;
        perRow = (int)output.Shape.Size;
        targets = device.Allocate<float>((long)batch * perRow);
        rows = device.Allocate<float>(batch);
        zeros = device.Allocate<float>(batch);
        zeros.View.MemSetToZero(device.Stream);
        rowLabels = device.Allocate<int>(batch);
        rowLabels.View.MemSetToZero(device.Stream); // every row counts
        stats = device.Allocate<double>(3);
        stats.View.MemSetToZero(device.Stream);
        upload = new HostLink<float>(device);
        kernel = device.LoadKernel<PointwiseLossArgs<TOp>>(PointwiseLossKernels.Rows);
        accumulate = device.LoadKernel<LossStatsArgs>(LossKernels.AccumulateStats);
    }

    ComputeDevice Device => device ?? throw new InvalidOperationException($"the {Name} is not prepared");

    /// <inheritdoc/>
    public int ValidTargets => batch;

    /// <inheritdoc/>
    public void SetTargets(ReadOnlySpan<int> targets) =>
        throw new InvalidOperationException($"{Name} takes float targets of the output's shape: Executor.SetTargets(ReadOnlySpan<float>)");

    /// <inheritdoc/>
    public void SetTargets(ReadOnlySpan<float> values)
    {
        _ = Device;
        if (values.Length != (long)batch * perRow)
            throw new ShapeMismatchException($"{Name} targets for output '{output!.Name}'", $"{output.Shape.WithBatch(batch)} ({(long)batch * perRow} values)", $"{values.Length} values");
        upload!.Upload(values, targets!.View);
    }

    /// <inheritdoc/>
    public void Run(ArrayView<float> prediction, ArrayView<float> gradient)
    {
        _ = Device;
        bool mean = Reduction == Reduction.Mean;
        kernel!.Launch(batch, new PointwiseLossArgs<TOp>
        {
            PerRow = perRow, X = prediction, Y = targets!.View, RowLoss = rows!.View, Dx = gradient,
            RowScale = mean ? 1f / perRow : 1f, GradScale = mean ? Scale / ((float)batch * perRow) : Scale,
        });
        accumulate!.Launch(1, new LossStatsArgs { Rows = batch, Loss = rows.View, Correct = zeros!.View, Labels = rowLabels!.View, Stats = stats!.View });
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
        foreach (var b in new IDisposable?[] { targets, rows, zeros, rowLabels, stats }) b?.Dispose();
        upload = null;
        targets = rows = zeros = null;
        rowLabels = null;
        stats = null;
    }
}

/// <summary>Mean (or summed) squared error, as <c>torch.nn.MSELoss</c>.</summary>
public sealed class MSELoss(Reduction reduction = Reduction.Mean) : PointwiseLoss<MseOp>(reduction)
{
    /// <inheritdoc/>
    protected override string Name => "MSELoss";
}

/// <summary>Mean (or summed) absolute error, as <c>torch.nn.L1Loss</c>.</summary>
public sealed class L1Loss(Reduction reduction = Reduction.Mean) : PointwiseLoss<L1Op>(reduction)
{
    /// <inheritdoc/>
    protected override string Name => "L1Loss";
}

/// <summary>Sigmoid and binary cross-entropy in one, on logits with targets in [0, 1], as <c>torch.nn.BCEWithLogitsLoss</c>.</summary>
public sealed class BCEWithLogitsLoss(Reduction reduction = Reduction.Mean) : PointwiseLoss<BceWithLogitsOp>(reduction)
{
    /// <inheritdoc/>
    protected override string Name => "BCEWithLogitsLoss";
}

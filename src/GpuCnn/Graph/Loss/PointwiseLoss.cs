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
    /// <summary>Per-row losses (<see cref="ILoss.GetRowLosses"/>; a row's sum for element-wise losses); the gradient is that of Σ_b g_b·loss_b, with the upstream g from <see cref="LossBase.SetRowGradients"/> (ones by default).</summary>
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
/// so LossSum / Count is the batch's loss for a mean; there is no accuracy. With <see cref="Reduction.None"/>,
/// <see cref="LossBase.SetRowGradients"/> takes the upstream gradient of each row's summed loss.
/// </summary>
public abstract class PointwiseLoss<TOp> : LossBase, IFloatTargetLoss where TOp : struct, IPointwiseLoss
{
    int perRow;
    MemoryBuffer1D<float, Stride1D.Dense>? targets;
    HostLink<float>? upload;
    Kernel<PointwiseLossArgs<TOp>>? kernel;

    /// <summary>A loss with <paramref name="reduction"/>.</summary>
    protected PointwiseLoss(Reduction reduction) => Reduction = reduction;

    /// <inheritdoc/>
    public override Reduction Reduction { get; }

    /// <inheritdoc/>
    protected override void PrepareCore(ComputeDevice device, Node output, int batch)
    {
        perRow = (int)output.Shape.Size;
        targets = device.Allocate<float>((long)batch * perRow);
        upload = new HostLink<float>(device);
        kernel = device.LoadKernel<PointwiseLossArgs<TOp>>(PointwiseLossKernels.Rows);
    }

    /// <inheritdoc/>
    public override int ValidTargets => Batch;

    /// <inheritdoc/>
    public override void SetTargets(ReadOnlySpan<int> targets) =>
        throw new InvalidOperationException($"{Name} takes float targets of the output's shape: Executor.SetTargets(ReadOnlySpan<float>)");

    /// <inheritdoc/>
    public void SetTargets(ReadOnlySpan<float> values)
    {
        _ = Device;
        if (values.Length != (long)Batch * perRow)
            throw new ShapeMismatchException($"{Name} targets for output '{Output.Name}'", $"{Output.Shape.WithBatch(Batch)} ({(long)Batch * perRow} values)", $"{values.Length} values");
        upload!.Upload(values, targets!.View);
    }

    /// <inheritdoc/>
    public override void Run(ArrayView<float> prediction, ArrayView<float> gradient)
    {
        _ = Device;
        bool mean = Reduction == Reduction.Mean;
        kernel!.Launch(Batch, new PointwiseLossArgs<TOp>
        {
            PerRow = perRow, X = prediction, Y = targets!.View, RowLoss = RowLossView, Dx = gradient,
            RowScale = mean ? 1f / perRow : 1f, GradScale = mean ? Scale / ((float)Batch * perRow) : Scale, RowGrad = RowGradView,
        });
        AccumulateAllRows();
    }

    /// <inheritdoc/>
    protected override void DisposeCore()
    {
        upload?.Dispose();
        targets?.Dispose();
        upload = null;
        targets = null;
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

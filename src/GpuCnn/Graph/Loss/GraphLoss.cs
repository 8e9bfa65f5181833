using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using ILGPU;

namespace GpuCnn.Graphs;

/// <summary>
/// A custom loss built from graph ops: the graph's output holds the loss's elements, which the user composed from
/// layers (<see cref="Layers.Add"/>, <see cref="Layers.Multiply"/>, <see cref="Layers.Scale"/>, activations, ...) on
/// the model's output and on targets fed as a further graph input (<see cref="Executor.SetInput"/> with its index).
/// GraphLoss only reduces those elements to a scalar, as <see cref="Reduction"/> says (a mean over every element, a
/// sum, or per row with <see cref="LossBase.SetRowGradients"/>), and seeds the backward with that reduction's
/// gradient, so the gradient flows through the composed layers' own backward passes.
/// <code>
/// var g = new Graph();
/// var pred = g.Add(new Linear(8, 4), g.Input(new Shape(8), "x"));
/// var diff = g.Add(new Add(), pred, g.Add(new Scale(-1), g.Input(new Shape(4), "target")));
/// g.Output = g.Add(new Multiply(), diff, diff);   // (pred − target)², a mean-squared error
/// using var ex = new Executor(g, device, 16, new ExecutorOptions { Loss = () => new GraphLoss() });
/// </code>
/// The statistics count each row's loss (its mean for <see cref="Reduction.Mean"/>, its sum otherwise).
/// </summary>
public sealed class GraphLoss(Reduction reduction = Reduction.Mean) : LossBase
{
    int perRow;
    Kernel<PointwiseLossArgs<ValueOp>>? kernel;

    /// <inheritdoc/>
    protected override string Name => "GraphLoss";
    /// <inheritdoc/>
    public override Reduction Reduction { get; } = reduction;

    /// <inheritdoc/>
    protected override void PrepareCore(ComputeDevice device, Node output, int batch)
    {
        perRow = (int)output.Shape.Size;
        kernel = device.LoadKernel<PointwiseLossArgs<ValueOp>>(PointwiseLossKernels.Rows);
    }

    /// <inheritdoc/>
    public override int ValidTargets => Batch;

    /// <inheritdoc/>
    public override void SetTargets(ReadOnlySpan<int> targets) =>
        throw new InvalidOperationException("GraphLoss: the targets are a graph input of the loss's graph: Executor.SetInput(targets, index)");

    /// <inheritdoc/>
    public override void Run(ArrayView<float> values, ArrayView<float> gradient)
    {
        _ = Device;
        bool mean = Reduction == Reduction.Mean;
        kernel!.Launch(Batch, new PointwiseLossArgs<ValueOp>
        {
            PerRow = perRow, X = values, Y = values, RowLoss = RowLossView, Dx = gradient,
            RowScale = mean ? 1f / perRow : 1f, GradScale = mean ? Scale / ((float)Batch * perRow) : Scale, RowGrad = RowGradView,
        });
        AccumulateAllRows();
    }

    /// <inheritdoc/>
    protected override void DisposeCore() { }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>
/// The statistics plumbing every built-in loss shares: the per-row loss buffer, the device-side running totals
/// (<see cref="LossKernels.AccumulateStats"/>), <see cref="GetRowLosses"/> and <see cref="ReadStatistics"/>, and the
/// upstream gradient per row that <see cref="Reduction.None"/> takes (<see cref="SetRowGradients"/>).
/// A subclass allocates its own target buffers in <see cref="PrepareCore"/> and launches its kernel in <see cref="Run"/>.
/// </summary>
public abstract class LossBase : ILoss
{
    ComputeDevice? device;
    Node? output;
    int batch;
    MemoryBuffer1D<float, Stride1D.Dense>? rows, rowGrad, zeros;
    MemoryBuffer1D<int, Stride1D.Dense>? allRows;
    MemoryBuffer1D<double, Stride1D.Dense>? stats;
    HostLink<float>? rowGradUpload;
    Kernel<LossStatsArgs>? accumulate;

    /// <summary>Name in messages.</summary>
    protected abstract string Name { get; }

    /// <summary>The reduction; losses without one reduce by <see cref="Reduction.Mean"/>.</summary>
    public virtual Reduction Reduction => Reduction.Mean;

    /// <summary>Multiplies the gradient (not the statistics), as <c>(loss * scale).backward()</c>.</summary>
    public float Scale { get; set; } = 1f;

    /// <summary>The device the loss runs on (after <see cref="Prepare"/>).</summary>
    protected ComputeDevice Device => device ?? throw new InvalidOperationException($"the {Name} is not prepared");
    /// <summary>The graph output the loss reads.</summary>
    protected Node Output => output ?? throw new InvalidOperationException($"the {Name} is not prepared");
    /// <summary>Rows of the batch.</summary>
    protected int Batch => batch;
    /// <summary>Per-row losses, written by the subclass's kernel.</summary>
    protected ArrayView<float> RowLossView => rows!.View;
    /// <summary>The upstream gradient per row: ones unless <see cref="SetRowGradients"/> set it.</summary>
    protected ArrayView<float> RowGradView => rowGrad!.View;

    /// <inheritdoc/>
    public void Prepare(ComputeDevice device, Node output, int batch)
    {
        if (this.device is not null) throw new InvalidOperationException($"this {Name} is already prepared; create one per executor");
        PrepareCore(device, output, batch); // validates before anything is allocated
        this.device = device;
        this.output = output;
        this.batch = batch;
        rows = device.Allocate<float>(batch);
        rowGrad = device.Allocate<float>(batch);
        rowGrad.View.CopyFromCPU(device.Stream, Enumerable.Repeat(1f, batch).ToArray());
        stats = device.Allocate<double>(3);
        stats.View.MemSetToZero(device.Stream);
        zeros = device.Allocate<float>(batch);
        zeros.View.MemSetToZero(device.Stream);
        allRows = device.Allocate<int>(batch);
        allRows.View.MemSetToZero(device.Stream); // label 0 everywhere: every row counts
        rowGradUpload = new HostLink<float>(device);
        accumulate = device.LoadKernel<LossStatsArgs>(LossKernels.AccumulateStats);
    }

    /// <summary>Checks the output and allocates the subclass's buffers and kernels.</summary>
    protected abstract void PrepareCore(ComputeDevice device, Node output, int batch);

    /// <inheritdoc/>
    public abstract int ValidTargets { get; }

    /// <inheritdoc/>
    public abstract void SetTargets(ReadOnlySpan<int> targets);

    /// <inheritdoc/>
    public abstract void Run(ArrayView<float> output, ArrayView<float> gradient);

    /// <summary>
    /// For <see cref="Reduction.None"/>: the upstream gradient of each row's loss, as <c>loss.backward(g)</c> in
    /// PyTorch; every later <see cref="Run"/> writes Σ_b g_b·∂loss_b/∂output (times <see cref="Scale"/>). Rows start at 1.
    /// </summary>
    public void SetRowGradients(ReadOnlySpan<float> perRow)
    {
        _ = Device;
        if (Reduction != Reduction.None)
            throw new InvalidOperationException($"{Name}: an upstream gradient per row needs Reduction.None; {Reduction} reduces to a scalar (use Scale)");
        if (perRow.Length != batch) throw new Tensors.ShapeMismatchException($"{Name} row gradients", $"[{batch}]", $"[{perRow.Length}]");
        rowGradUpload!.Upload(perRow, rowGrad!.View);
    }

    /// <summary>Adds the batch's rows to the statistics; rows whose label is &lt; 0 are skipped.</summary>
    protected void Accumulate(ArrayView<float> correct, ArrayView<int> labels) =>
        accumulate!.Launch(1, new LossStatsArgs { Rows = batch, Loss = rows!.View, Correct = correct, Labels = labels, Stats = stats!.View });

    /// <summary>Adds the batch's rows to the statistics, every row counted, none correct (losses without labels).</summary>
    protected void AccumulateAllRows() => Accumulate(zeros!.View, allRows!.View);

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

    /// <summary>Frees the subclass's device buffers.</summary>
    protected abstract void DisposeCore();

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        DisposeCore();
        rowGradUpload?.Dispose();
        rows?.Dispose();
        rowGrad?.Dispose();
        zeros?.Dispose();
        allRows?.Dispose();
        stats?.Dispose();
        rowGradUpload = null;
        rows = rowGrad = zeros = null;
        allRows = null;
        stats = null;
        GC.SuppressFinalize(this);
    }
}

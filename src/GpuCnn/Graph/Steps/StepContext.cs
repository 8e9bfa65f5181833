using GpuCnn.Devices;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Graphs;

/// <summary>The host-side state every run of an executor's steps reads: train or eval mode, and the step counter.</summary>
internal sealed class RunState
{
    /// <summary>Forward passes behave as in training.</summary>
    public bool Training;
    /// <summary>Training forward passes run so far.</summary>
    public ulong Step;
    /// <summary>The batch's first sample in the step's whole batch (see <see cref="Executor.SampleOffset"/>).</summary>
    public long SampleOffset;
    /// <summary>β of the parameter gradients in the running backward pass: 0 overwrites, 1 accumulates.</summary>
    public float ParamGradBeta;
}

/// <summary>
/// The device memory of one plan: an arena per device, allocated once, and a view per planned buffer; with the
/// devices, the run state and the loss, it is everything the steps are built over.
/// </summary>
internal sealed class StepContext : IDisposable
{
    readonly MemoryBuffer1D<float, Stride1D.Dense>[] arenas;
    readonly ArrayView<float>[] views;

    public StepContext(Plan plan, IReadOnlyList<ComputeDevice> devices, RunState state, ILoss loss)
    {
        Plan = plan;
        Devices = devices;
        State = state;
        Loss = loss;
        arenas = devices.Select((d, i) => d.Allocate<float>(plan.ArenaSizes[i])).ToArray();
        views = plan.Buffers.Select(b => (ArrayView<float>)arenas[b.Device].View.SubView(b.Offset, b.Size)).ToArray();
    }

    /// <summary>The plan.</summary>
    public Plan Plan { get; }
    /// <summary>The devices, indexed by <see cref="Node.Device"/>.</summary>
    public IReadOnlyList<ComputeDevice> Devices { get; }
    /// <summary>Mode and step counter.</summary>
    public RunState State { get; }
    /// <summary>The loss on the output.</summary>
    public ILoss Loss { get; }

    /// <summary>The memory of planned buffer <paramref name="buffer"/>.</summary>
    public ArrayView<float> View(int buffer) => views[buffer];

    /// <summary>The device holding planned buffer <paramref name="buffer"/>.</summary>
    public ComputeDevice DeviceOf(int buffer) => Devices[Plan.Buffers[buffer].Device];

    /// <summary>Buffer <paramref name="buffer"/> as a batch of <paramref name="sample"/>-shaped rows.</summary>
    public TensorRef Tensor(int buffer, Shape sample) => new(views[buffer], sample.WithBatch(Plan.BatchSize));

    /// <summary>Frees the arenas.</summary>
    public void Dispose()
    {
        foreach (var a in arenas) a.Dispose();
    }
}

/// <summary>One step of an executor, built once from its <see cref="PlanStep"/>; running it allocates nothing.</summary>
internal abstract class ExecutorStep : IDisposable
{
    protected ExecutorStep(string name) => Name = name;

    /// <summary>The step's name in profiles.</summary>
    public string Name { get; }

    /// <summary>The copy path, for a transfer step.</summary>
    public virtual DeviceLink? Link => null;

    /// <summary>Queues the step's work.</summary>
    public abstract void Run();

    /// <summary>Frees what the step holds (staging buffers).</summary>
    public virtual void Dispose() { }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using ILGPU;

namespace GpuCnn.Graphs;

/// <summary>An activation copied to the device that reads it.</summary>
internal sealed class TransferForwardStep : ExecutorStep
{
    readonly DeviceLink link;
    readonly ArrayView<float> source, target;

    public TransferForwardStep(PlannedTransfer step, StepContext c) : base(step.Describe(c.Plan))
    {
        link = new DeviceLink(c.DeviceOf(step.Source), c.DeviceOf(step.Target), c.Plan.Buffers[step.Source].Size);
        source = c.View(step.Source);
        target = c.View(step.Target);
    }

    public override DeviceLink Link => link;

    public override void Run() => link.Copy(source, target);

    public override void Dispose() => link.Dispose();
}

/// <summary>
/// A mirror's gradient sent back to the producer's device: it arrives in a staging buffer and is added (β) into the
/// producer's gradient there.
/// </summary>
internal sealed class TransferGradientBackStep : ExecutorStep
{
    readonly DeviceLink link;
    readonly Kernel<AxpbyArgs> axpby;
    readonly ArrayView<float> source;
    readonly AxpbyArgs add;

    public TransferGradientBackStep(PlannedGradientTransfer step, StepContext c) : base(step.Describe(c.Plan))
    {
        link = new DeviceLink(c.DeviceOf(step.Source), c.DeviceOf(step.Staging), c.Plan.Buffers[step.Source].Size);
        axpby = c.DeviceOf(step.Target).LoadKernel<AxpbyArgs>(ElementwiseKernels.Axpby);
        source = c.View(step.Source);
        add = new AxpbyArgs { X = c.View(step.Staging), Y = c.View(step.Target), Alpha = 1f, Beta = step.Beta };
    }

    public override DeviceLink Link => link;

    public override void Run()
    {
        link.Copy(source, add.X);
        axpby.Launch((int)add.Y.Length, add);
    }

    public override void Dispose() => link.Dispose();
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Loss;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Log-softmax over the first per-sample dimension (<c>torch.nn.LogSoftmax(dim=1)</c>), computed stably in one pass
/// (<see cref="NllLossKernels"/>): y_c = x_c − log Σ e^{x_k}; dx = dy − softmax(x)·Σ dy. Followed by
/// <see cref="Graphs.NLLLoss"/> it is cross-entropy.
/// </summary>
public sealed class LogSoftmax : Layer
{
    Kernel<LogSoftmaxArgs>? fwd, bwd;

    /// <summary>Creates the layer.</summary>
    public LogSoftmax(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "LogSoftmax";
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;
    /// <inheritdoc/>
    public override bool BackwardNeedsOutput => true;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<LogSoftmaxArgs>(NllLossKernels.LogSoftmaxForward);
        bwd = device.LoadKernel<LogSoftmaxArgs>(NllLossKernels.LogSoftmaxBackward);
    }

    static (int Channels, int Plane, int Rows) Dims(Shape full)
    {
        int channels = full[1];
        int plane = (int)(full.Size / (full[0] * (long)channels));
        return (channels, plane, full[0] * plane);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        var (c, plane, rows) = Dims(io.Output.Shape);
        fwd!.Launch(rows, new() { Channels = c, Plane = plane, X = io.Inputs[0].View, Y = io.Output.View });
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        var (c, plane, rows) = Dims(io.Output.Shape);
        bwd!.Launch(rows, new()
        {
            Channels = c, Plane = plane, Y = io.Output.View, Dy = io.GradOutput.View, Dx = io.GradInputs[0].View, Beta = io.GradInputBeta[0],
        });
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// What <see cref="Softmax"/> and <see cref="LogSoftmax"/> share: a normalisation over the first per-sample dimension
/// (the features of a vector, or the channels at every pixel), one (sample, pixel) per kernel iteration, whose
/// backward reads only the output. A subclass names its forward and backward kernels.
/// </summary>
public abstract class ChannelSoftmax : Layer
{
    Kernel<SoftmaxForwardArgs>? fwd;
    Kernel<SoftmaxBackwardArgs>? bwd;

    /// <summary>Creates the layer.</summary>
    protected ChannelSoftmax(string? name) : base(name) { }

    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;
    /// <inheritdoc/>
    public override bool BackwardNeedsOutput => true;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    /// <summary>Loads the forward and backward kernels from <paramref name="device"/>'s cache.</summary>
    protected abstract (Kernel<SoftmaxForwardArgs> Forward, Kernel<SoftmaxBackwardArgs> Backward) Load(ComputeDevice device);

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device) => (fwd, bwd) = Load(device);

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

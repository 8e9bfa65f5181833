using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Softmax over the first per-sample dimension (<c>torch.nn.Softmax(dim=1)</c>): over the features of a vector, or
/// over the channels at every pixel. y_c = e^{x_c} / Σ e^{x_k}; dx = y ⊙ (dy − Σ dy·y). For training, prefer the
/// executor's fused softmax cross-entropy on logits.
/// </summary>
public sealed class Softmax : Layer
{
    Kernel<SoftmaxForwardArgs>? fwd;
    Kernel<SoftmaxBackwardArgs>? bwd;

    /// <summary>Creates the layer.</summary>
    public Softmax(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "Softmax";
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;
    /// <inheritdoc/>
    public override bool BackwardNeedsOutput => true;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<SoftmaxForwardArgs>(TensorKernels.SoftmaxForward);
        bwd = device.LoadKernel<SoftmaxBackwardArgs>(TensorKernels.SoftmaxBackward);
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

using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// Softmax over the first per-sample dimension (<c>torch.nn.Softmax(dim=1)</c>): over the features of a vector, or
/// over the channels at every pixel. y_c = e^{x_c} / Σ e^{x_k}; dx = y ⊙ (dy − Σ dy·y). For training, prefer the
/// executor's fused softmax cross-entropy on logits.
/// </summary>
public sealed class Softmax : Layer
{
    Action<AcceleratorStream, Index1D, int, int, int, int, ArrayView<float>, ArrayView<float>>? fwd;
    Action<AcceleratorStream, Index1D, int, int, int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>? bwd;

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
        fwd = device.Load<int, int, ArrayView<float>, ArrayView<float>>(TensorKernels.SoftmaxForward);
        bwd = device.Load<int, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(TensorKernels.SoftmaxBackward);
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
        Device.Launch(fwd!, rows, c, plane, io.Inputs[0].View, io.Output.View);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        var (c, plane, rows) = Dims(io.Output.Shape);
        Device.Launch(bwd!, rows, c, plane, io.Output.View, io.GradOutput.View, io.GradInputs[0].View, io.GradInputBeta[0]);
    }
}

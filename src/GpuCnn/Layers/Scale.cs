using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Multiplies by a constant (<c>x * alpha</c>): y = α·x; dx = α·dy. <c>new Scale(-1)</c> negates, so
/// <see cref="Add"/> of a prediction and a scaled target is their difference (see <see cref="Graphs.GraphLoss"/>).
/// </summary>
public sealed class Scale : Layer
{
    Kernel<AxpbyArgs>? axpby;

    /// <summary>Creates the layer with factor <paramref name="alpha"/>.</summary>
    public Scale(float alpha, string? name = null) : base(name)
    {
        if (!float.IsFinite(alpha)) throw new ArgumentException($"Scale: the factor must be finite, got {alpha}");
        Alpha = alpha;
    }

    /// <summary>The factor α.</summary>
    public float Alpha { get; }

    /// <inheritdoc/>
    public override string TypeName => "Scale";
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> shapes) => shapes[0];

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device) => axpby = device.LoadKernel<AxpbyArgs>(ElementwiseKernels.Axpby);

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        axpby!.Launch(io.Output.Size, new() { X = io.Inputs[0].View, Y = io.Output.View, Alpha = Alpha, Beta = 0f });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        axpby!.Launch(io.Output.Size, new() { X = io.GradOutput.View, Y = io.GradInputs[0].View, Alpha = Alpha, Beta = io.GradInputBeta[0] });
    }
}

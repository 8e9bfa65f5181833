using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Inverted dropout, as <c>torch.nn.Dropout</c>: in training y = x·m/(1−p) with m ~ Bernoulli(1−p) drawn from
/// Philox keyed by (seed, layer name) at counter (element, step); dx = dy·m/(1−p). In eval y = x.
/// </summary>
public sealed class Dropout : Layer
{
    Kernel<DropoutForwardArgs>? fwd;
    Kernel<DropoutBackwardArgs>? bwd;
    Kernel<AxpbyArgs>? axpby;

    /// <summary>Creates the layer with drop probability <paramref name="p"/> (0 ≤ p &lt; 1).</summary>
    public Dropout(float p = 0.5f, string? name = null) : base(name)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentException($"Dropout: p must be in [0, 1), got {p}");
        P = p;
    }

    /// <summary>Drop probability.</summary>
    public float P { get; }

    /// <inheritdoc/>
    public override bool UsesStepRandomness => true;

    /// <inheritdoc/>
    public override string TypeName => "Dropout";
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs) => inputs[0];

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<DropoutForwardArgs>(DropoutKernels.Forward);
        bwd = device.LoadKernel<DropoutBackwardArgs>(DropoutKernels.Backward);
        axpby = device.LoadKernel<AxpbyArgs>(ElementwiseKernels.Axpby);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        if (io.Training && P > 0)
            fwd!.Launch(io.Output.Size, new()
            {
                X = io.Inputs[0].View, Y = io.Output.View, Key = RandomKey(io.Seed), Step = io.Step, Offset = io.ElementOffset, P = P, Scale = 1f / (1f - P),
            });
        else
            axpby!.Launch(io.Output.Size, new() { X = io.Inputs[0].View, Y = io.Output.View, Alpha = 1f, Beta = 0f });
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        if (io.Training && P > 0)
            bwd!.Launch(io.Output.Size, new()
            {
                Dy = io.GradOutput.View, Dx = io.GradInputs[0].View, Key = RandomKey(io.Seed), Step = io.Step, Offset = io.ElementOffset, P = P,
                Scale = 1f / (1f - P), Beta = io.GradInputBeta[0],
            });
        else
            axpby!.Launch(io.Output.Size, new() { X = io.GradOutput.View, Y = io.GradInputs[0].View, Alpha = 1f, Beta = io.GradInputBeta[0] });
    }
}

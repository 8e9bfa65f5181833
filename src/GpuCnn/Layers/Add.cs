using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// Element-wise sum of equally shaped inputs (a residual connection): y = Σ_i x_i; dx_i = dy for every input.
/// </summary>
public sealed class Add : Layer
{
    readonly int inputs;
    Kernel<AxpbyArgs>? axpby;

    /// <summary>Creates the layer for <paramref name="inputs"/> inputs (at least 2).</summary>
    public Add(int inputs = 2, string? name = null) : base(name)
    {
        if (inputs < 2) throw new ArgumentException($"Add needs at least 2 inputs, got {inputs}");
        this.inputs = inputs;
    }

    /// <inheritdoc/>
    public override string TypeName => "Add";
    /// <inheritdoc/>
    public override int InputCount => inputs;
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> shapes)
    {
        for (int i = 1; i < shapes.Count; i++)
            if (shapes[i] != shapes[0]) throw Mismatch(shapes[0].ToString(), shapes[i], $"input {i} must match input 0");
        return shapes[0];
    }

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device) =>
        axpby = device.LoadKernel<AxpbyArgs>(ElementwiseKernels.Axpby);

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        int n = io.Output.Size;
        axpby!.Launch(n, new() { X = io.Inputs[0].View, Y = io.Output.View, Alpha = 1f, Beta = 0f });
        for (int i = 1; i < io.Inputs.Length; i++) axpby!.Launch(n, new() { X = io.Inputs[i].View, Y = io.Output.View, Alpha = 1f, Beta = 1f });
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        for (int i = 0; i < io.Inputs.Length; i++)
            if (!io.GradInputs[i].IsEmpty)
                axpby!.Launch(io.Output.Size, new() { X = io.GradOutput.View, Y = io.GradInputs[i].View, Alpha = 1f, Beta = io.GradInputBeta[i] });
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Adaptive average pooling to a fixed output size, as <c>torch.nn.AdaptiveAvgPool2d((OH, OW))</c>: cell (oy, ox)
/// averages rows [⌊oy·H/OH⌋, ⌈(oy+1)·H/OH⌉) and likewise columns. AlexNet and VGG use it so their classifiers
/// accept any input size; at 224×224 it is the identity there.
/// </summary>
public sealed class AdaptiveAvgPool2d : Layer
{
    Kernel<AvgForwardArgs>? fwd;
    Kernel<AvgBackwardArgs>? bwd;

    /// <summary>Creates the layer with output size <paramref name="outputH"/>×<paramref name="outputW"/>.</summary>
    public AdaptiveAvgPool2d(int outputH, int outputW, string? name = null) : base(name)
    {
        if (outputH <= 0 || outputW <= 0) throw new ArgumentException("AdaptiveAvgPool2d: output size must be positive");
        OutputH = outputH;
        OutputW = outputW;
    }

    /// <summary>Output height.</summary>
    public int OutputH { get; }
    /// <summary>Output width.</summary>
    public int OutputW { get; }

    /// <inheritdoc/>
    public override string TypeName => "AdaptiveAvgPool2d";
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0].Rank != 3) throw Mismatch("[C, H, W]", inputs[0]);
        return new Shape(inputs[0][0], OutputH, OutputW);
    }

    /// <inheritdoc/>
    public override long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) => Math.Max(inputs[0].Size, output.Size);

    PoolParams Geometry(Shape s) => new PoolParams() { Planes = s[0] * s[1], H = s[2], W = s[3], OH = OutputH, OW = OutputW }.Prepare();

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<AvgForwardArgs>(PoolKernels.AdaptiveAvgForward);
        bwd = device.LoadKernel<AvgBackwardArgs>(PoolKernels.AdaptiveAvgBackward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        fwd!.Launch(io.Output.Size, new() { Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Y = io.Output.View });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        bwd!.Launch(io.GradInputs[0].Size, new()
        {
            Geometry = Geometry(io.Inputs[0].Shape), Dy = io.GradOutput.View, Dx = io.GradInputs[0].View, Beta = io.GradInputBeta[0],
        });
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Global average pooling (<c>torch.nn.AdaptiveAvgPool2d(1)</c>): [C, H, W] → [C, 1, 1], y = mean over H·W;
/// dx = dy / (H·W). It runs the average-pooling kernels with one window covering the whole plane.
/// </summary>
public sealed class GlobalAvgPool2d : Layer
{
    Kernel<AvgForwardArgs>? fwd;
    Kernel<AvgBackwardArgs>? bwd;

    /// <summary>Creates the layer.</summary>
    public GlobalAvgPool2d(string? name = null) : base(name) { }

    /// <inheritdoc/>
    public override string TypeName => "GlobalAvgPool2d";
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;
    /// <inheritdoc/>
    public override Window? ReceptiveWindow => Window.Global;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0].Rank != 3) throw Mismatch("[C, H, W]", inputs[0]);
        return new Shape(inputs[0][0], 1, 1);
    }

    /// <inheritdoc/>
    public override long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) => inputs[0].Size;

    static PoolParams Geometry(Shape s) => new PoolParams()
    {
        Planes = s[0] * s[1], H = s[2], W = s[3], OH = 1, OW = 1, KH = s[2], KW = s[3], SH = 1, SW = 1, PH = 0, PW = 0,
    }.Prepare();

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<AvgForwardArgs>(PoolKernels.AvgForward);
        bwd = device.LoadKernel<AvgBackwardArgs>(PoolKernels.AvgBackward);
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

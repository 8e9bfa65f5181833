using GpuCnn.Devices;
using GpuCnn.Kernels.Norm;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Local response normalisation across channels, as <c>torch.nn.LocalResponseNorm</c> and AlexNet (size 5,
/// α = 1e-4, β = 0.75, k = 2): y_c = x_c / (k + α/n Σ_{j∈W(c)} x_j²)^β (see <see cref="LrnKernels"/>).
/// </summary>
public sealed class LocalResponseNorm : Layer
{
    Kernel<LrnForwardArgs>? fwd;
    Kernel<LrnBackwardArgs>? bwd;

    /// <summary>Creates the layer (AlexNet's constants by default, except k which PyTorch defaults to 1).</summary>
    public LocalResponseNorm(int size = 5, float alpha = 1e-4f, float beta = 0.75f, float k = 2f, string? name = null) : base(name)
    {
        if (size <= 0) throw new ArgumentException($"LocalResponseNorm: size must be positive, got {size}");
        Size = size;
        Alpha = alpha;
        Beta = beta;
        K = k;
    }

    /// <summary>Window size n.</summary>
    public int Size { get; }
    /// <summary>α.</summary>
    public float Alpha { get; }
    /// <summary>β.</summary>
    public float Beta { get; }
    /// <summary>k.</summary>
    public float K { get; }

    /// <inheritdoc/>
    public override string TypeName => "LocalResponseNorm";

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0].Rank != 3) throw Mismatch("[C, H, W]", inputs[0], "LRN normalises across channels of images");
        return inputs[0];
    }

    /// <inheritdoc/>
    public override long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) => output.Size * (Size + 2);

    LrnParams Geometry(Shape s) => new LrnParams() { C = s[1], Plane = s[2] * s[3], Size = Size, Alpha = Alpha, Beta = Beta, K = K }.Prepare();

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<LrnForwardArgs>(LrnKernels.Forward);
        bwd = device.LoadKernel<LrnBackwardArgs>(LrnKernels.Backward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        fwd!.Launch(io.Output.Size, new() { Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Y = io.Output.View });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        bwd!.Launch(io.Output.Size, new()
        {
            Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Dy = io.GradOutput.View, Dx = io.GradInputs[0].View,
            Beta = io.GradInputBeta[0],
        });
    }
}

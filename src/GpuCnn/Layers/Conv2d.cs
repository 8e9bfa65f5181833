using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// 2-D convolution over NCHW input with OIHW weights, as <c>torch.nn.Conv2d</c>:
/// y[n,k] = b[k] + Σ_c w[k,c] ⋆ x[n,c], with stride, padding (valid, same or explicit), dilation and groups.
/// Backward: dx = full correlation of dy with the flipped filters; dw = x ⋆ dy; db = Σ dy (see <see cref="ConvKernels"/>).
/// The three products go to the device's <see cref="GemmEngine"/>, which picks the kernel family.
/// </summary>
public sealed class Conv2d : Layer
{
    Kernel<ConvBiasGradArgs>? bwdBias;

    /// <summary>Creates a convolution with a square kernel.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, Padding padding = default,
        int dilation = 1, int groups = 1, bool bias = true, string? name = null, Init init = Init.LeCunUniform)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), padding, (dilation, dilation), groups, bias, name, init) { }

    /// <summary>Creates a convolution with a rectangular kernel, stride and dilation.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, Padding padding,
        (int H, int W) dilation, int groups = 1, bool bias = true, string? name = null, Init init = Init.LeCunUniform) : base(name)
    {
        if (inChannels <= 0 || outChannels <= 0) throw new ArgumentException("Conv2d: channel counts must be positive");
        if (kernelSize.H <= 0 || kernelSize.W <= 0 || stride.H <= 0 || stride.W <= 0 || dilation.H <= 0 || dilation.W <= 0)
            throw new ArgumentException("Conv2d: kernel size, stride and dilation must be positive");
        if (padding.Top < 0 || padding.Left < 0) throw new ArgumentException("Conv2d: padding must be non-negative");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: groups={groups} must divide in_channels={inChannels} and out_channels={outChannels}");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        Groups = groups;
        int fanIn = inChannels / groups * kernelSize.H * kernelSize.W;
        int fanOut = outChannels / groups * kernelSize.H * kernelSize.W;
        Weight = AddParameter("weight", new Shape(outChannels, inChannels / groups, kernelSize.H, kernelSize.W), init, fanIn, fanOut);
        if (bias) Bias = AddParameter("bias", new Shape(outChannels), Init.Zeros, fanIn, fanOut, noWeightDecay: true);
    }

    /// <inheritdoc/>
    public override string TypeName => "Conv2d";
    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size.</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Padding.</summary>
    public Padding Padding { get; }
    /// <summary>Dilation.</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Groups.</summary>
    public int Groups { get; }
    /// <summary>Weight [out, in/groups, kh, kw].</summary>
    public Parameter Weight { get; }
    /// <summary>Bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>Any member of the <see cref="FusedActivation"/> family: every family's epilogue applies it last.</summary>
    public override bool CanFuse(FusedActivation activation) => true;

    /// <inheritdoc/>
    public override Window? ReceptiveWindow => new(KernelSize.H, KernelSize.W, Stride.H, Stride.W, Dilation.H, Dilation.W);

    /// <summary>Padding (top, left) and output size along one axis.</summary>
    (int Pad, int Out) Axis(int size, int k, int s, int d, int explicitPad)
    {
        int eff = d * (k - 1) + 1;
        if (Padding.IsSame)
        {
            int o = (size + s - 1) / s;
            int total = Math.Max((o - 1) * s + eff - size, 0);
            return (total / 2, o);
        }
        int span = size + 2 * explicitPad - eff;
        return (explicitPad, span < 0 ? 0 : span / s + 1);
    }

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        string want = $"[{InChannels}, H, W]";
        if (x.Rank != 3) throw Mismatch(want, x, "Conv2d takes C×H×W images per sample");
        if (x[0] != InChannels) throw Mismatch(want, x, $"in_channels={InChannels}");
        var (_, oh) = Axis(x[1], KernelSize.H, Stride.H, Dilation.H, Padding.Top);
        var (_, ow) = Axis(x[2], KernelSize.W, Stride.W, Dilation.W, Padding.Left);
        if (oh <= 0 || ow <= 0)
            throw Mismatch($"[{InChannels}, H, W] with H, W at least the dilated kernel {KernelSize}", x, "output would be empty");
        return new Shape(OutChannels, oh, ow);
    }

    /// <inheritdoc/>
    public override long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) =>
        output.Size * (InChannels / Groups) * KernelSize.H * KernelSize.W;

    // The last geometry, so that a training step does not prepare the same divisors in every forward and backward.
    Shape? geometryFor;
    ConvParams geometry;

    /// <summary>Kernel geometry for a batch of inputs of shape [N, C, H, W], prepared for the GEMM operands.</summary>
    public ConvParams Geometry(Shape input)
    {
        if (input.Equals(geometryFor)) return geometry;
        geometry = ComputeGeometry(input);
        geometryFor = input;
        return geometry;
    }

    ConvParams ComputeGeometry(Shape input)
    {
        var (ph, oh) = Axis(input[2], KernelSize.H, Stride.H, Dilation.H, Padding.Top);
        var (pw, ow) = Axis(input[3], KernelSize.W, Stride.W, Dilation.W, Padding.Left);
        return new ConvParams
        {
            N = input[0], C = input[1], H = input[2], W = input[3], K = OutChannels, OH = oh, OW = ow,
            KH = KernelSize.H, KW = KernelSize.W, SH = Stride.H, SW = Stride.W, PH = ph, PW = pw,
            DH = Dilation.H, DW = Dilation.W, G = Groups,
        }.Prepare();
    }

    /// <summary>True for a 1×1, stride-1, unpadded, undilated convolution, which runs the pointwise kernels.</summary>
    public bool IsPointwise => KernelSize == (1, 1) && Stride == (1, 1) && Dilation == (1, 1) && !Padding.IsSame && Padding.Top == 0 && Padding.Left == 0;

    /// <summary>
    /// Values of the im2col matrix that one step of the blocked family lowers at most (16 MiB; at least one image):
    /// images go in chunks. Settable for tests.
    /// </summary>
    internal long BlockedColumnBudget { get; set; } = 1L << 22;

    /// <summary>One of this layer's three products over geometry <paramref name="p"/>.</summary>
    GemmProduct Product(GemmOperation op, ConvParams p) =>
        GemmProduct.Convolution(op, p, IsPointwise, BlockedColumnBudget) with { Owner = Name };

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device) =>
        bwdBias = device.LoadKernel<ConvBiasGradArgs>(ConvKernels.BackwardBias);

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        var p = Geometry(io.Inputs[0].Shape);
        var act = io.FusedActivation;
        var epilogue = (Bias is null ? GemmEpilogue.None : GemmEpilogue.Bias) | (act.IsEnabled ? GemmEpilogue.Activation : GemmEpilogue.None);
        Device.Gemm.Run(Product(GemmOperation.ConvForward, p) with { Epilogue = epilogue, Activation = act },
            new GemmOperands { A = Weight.Value, B = io.Inputs[0].View, Bias = Bias is null ? default : Bias.Value, C = io.Output.View });
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        var p = Geometry(io.Inputs[0].Shape);
        var (x, dy) = (io.Inputs[0].View, io.GradOutput.View);
        Device.Gemm.Run(Product(GemmOperation.ConvFilterGrad, p) with { Beta = io.ParamGradBeta },
            new GemmOperands { A = dy, B = x, C = Weight.Grad });
        if (Bias is not null)
            bwdBias!.Launch(OutChannels, new() { P = p, Dy = dy, Db = Bias.Grad, Beta = io.ParamGradBeta });
        if (!io.GradInputs[0].IsEmpty)
            Device.Gemm.Run(Product(GemmOperation.ConvDataGrad, p) with { Beta = io.GradInputBeta[0] },
                new GemmOperands { A = Weight.Value, B = dy, C = io.GradInputs[0].View });
    }
}

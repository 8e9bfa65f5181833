using GpuCnn.Devices;
using GpuCnn.Kernels.Conv;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// 2-D convolution over NCHW input with OIHW weights, as <c>torch.nn.Conv2d</c>:
/// y[n,k] = b[k] + Σ_c w[k,c] ⋆ x[n,c], with stride, padding (valid, same or explicit), dilation and groups.
/// Backward: dx = full correlation of dy with the flipped filters; dw = x ⋆ dy; db = Σ dy (see <see cref="ConvKernels"/>).
/// </summary>
public sealed class Conv2d : Layer
{
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>? fwd;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>? bwdData, bwdFilter;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>, float>? bwdBias;

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
        if (bias) Bias = AddParameter("bias", new Shape(outChannels), Init.Zeros, fanIn, fanOut, isBias: true);
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

    /// <summary>Kernel geometry for a batch of inputs of shape [N, C, H, W].</summary>
    public ConvParams Geometry(Shape input)
    {
        var (ph, oh) = Axis(input[2], KernelSize.H, Stride.H, Dilation.H, Padding.Top);
        var (pw, ow) = Axis(input[3], KernelSize.W, Stride.W, Dilation.W, Padding.Left);
        return new ConvParams
        {
            N = input[0], C = input[1], H = input[2], W = input[3], K = OutChannels, OH = oh, OW = ow,
            KH = KernelSize.H, KW = KernelSize.W, SH = Stride.H, SW = Stride.W, PH = ph, PW = pw,
            DH = Dilation.H, DW = Dilation.W, G = Groups,
        };
    }

    /// <summary>True for a 1×1, stride-1, unpadded, undilated convolution, which runs the pointwise kernels.</summary>
    public bool IsPointwise => KernelSize == (1, 1) && Stride == (1, 1) && Dilation == (1, 1) && !Padding.IsSame && Padding.Top == 0 && Padding.Left == 0;

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        bool pw = IsPointwise;
        fwd = device.Load<ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(
            pw ? ConvKernels.PointwiseForward : ConvKernels.Forward);
        bwdData = device.Load<ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(
            pw ? ConvKernels.PointwiseBackwardData : ConvKernels.BackwardData);
        bwdFilter = device.Load<ConvParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(
            pw ? ConvKernels.PointwiseBackwardFilter : ConvKernels.BackwardFilter);
        bwdBias = device.Load<ConvParams, ArrayView<float>, ArrayView<float>, float>(ConvKernels.BackwardBias);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        var p = Geometry(io.Inputs[0].Shape);
        var b = Bias?.Value ?? Weight.Value;
        Device.Launch(fwd!, io.Output.Size, p, io.Inputs[0].View, Weight.Value, b, Bias is null ? 0 : 1, io.Output.View);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        var p = Geometry(io.Inputs[0].Shape);
        Device.Launch(bwdFilter!, (int)Weight.Shape.Size, p, io.Inputs[0].View, io.GradOutput.View, Weight.Grad, io.ParamGradBeta);
        if (Bias is not null)
            Device.Launch(bwdBias!, OutChannels, p, io.GradOutput.View, Bias.Grad, io.ParamGradBeta);
        if (!io.GradInputs[0].IsEmpty)
            Device.Launch(bwdData!, io.GradInputs[0].Size, p, io.GradOutput.View, Weight.Value, io.GradInputs[0].View, io.GradInputBeta[0]);
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
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
    Action<AcceleratorStream, Index1D, int, int, GemmShape, ArrayView<float>, ArrayView<float>, int, int, float>? reduce;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>>? im2col, im2colRows;
    Action<AcceleratorStream, Index1D, int, int, ConvParams, ArrayView<float>, ArrayView<float>, float>? col2im;
    Action<AcceleratorStream, Index1D, int, int, FastDiv, int, FastDiv, ArrayView<float>, ArrayView<float>>? toChannelMajor;
    Action<AcceleratorStream, Index1D, int, int, int, FastDiv, FastDiv, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? toBatchMajor;
    // Kernel family per (operation, batch size), chosen once (see GemmEngine); a lookup allocates nothing.
    readonly Dictionary<(Op, int), GemmKernel> picked = new();

    enum Op { Forward, DataGrad, FilterGrad }

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
    public override bool CanFuse(FusedActivation activation) => activation.Slope == 0f && activation.Alpha == 0f;

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
        reduce = device.Load<GemmShape, ArrayView<float>, ArrayView<float>, int, int, float>(TiledGemmKernels.ReduceSplits);
        im2col = device.Load<ConvParams, ArrayView<float>, ArrayView<float>>(LoweringKernels.Im2Col);
        im2colRows = device.Load<ConvParams, ArrayView<float>, ArrayView<float>>(LoweringKernels.Im2ColRows);
        col2im = device.Load<ConvParams, ArrayView<float>, ArrayView<float>, float>(LoweringKernels.Col2Im);
        toChannelMajor = device.Load<FastDiv, int, FastDiv, ArrayView<float>, ArrayView<float>>(LoweringKernels.BatchToChannelMajor);
        toBatchMajor = device.Load<int, FastDiv, FastDiv, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(LoweringKernels.ChannelToBatchMajor);
        picked.Clear();
    }

    // Kept out of the callers so that their hot path builds no closure.
    GemmKernel Pick(Op op, ConvParams p, long outLength, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias)
    {
        string key = $"conv.{op} n={p.N} c={p.C} {p.H}x{p.W} k={p.K} {p.KH}x{p.KW} s={p.SH},{p.SW} p={p.PH},{p.PW} d={p.DH},{p.DW} g={p.G} out={p.OH}x{p.OW}";
        long macs = (long)p.N * p.K * p.OH * p.OW * p.CPerGroup * p.KH * p.KW; // the same for all three products
        var k = Device.Gemm.Choose(key, outLength, (kind, o) => Run(op, kind, p, a, b, bias, o, 0f, false), macs);
        picked[(op, p.N)] = k;
        return k;
    }

    /// <summary>
    /// Runs one of the three convolution products with the given kernel family. Forward: a = x, b = w, bias; data
    /// gradient: a = dy, b = w; filter gradient: a = x, b = dy. The result goes to <paramref name="dst"/> with beta.
    /// </summary>
    void Run(Op op, GemmKernel kind, ConvParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> dst, float beta,
        bool relu)
    {
        int epilogue = (Bias is null ? 0 : 1) | (relu ? 2 : 0);
        int taps = p.KH * p.KW;
        var gemm = Device.Gemm;
        if (kind == GemmKernel.CuBlas)
        {
            RunLowered(op, p, a, b, bias, dst, beta, epilogue);
            return;
        }
        if (kind == GemmKernel.Blocked)
        {
            RunBlocked(op, p, a, b, bias, dst, beta, epilogue);
            return;
        }
        switch (op)
        {
            case Op.Forward when kind == GemmKernel.Direct:
                Device.Launch(fwd!, p.N * p.K * p.OH * p.OW, p, a, b, Bias is null ? b : bias, epilogue, dst);
                break;
            case Op.Forward:
                gemm.Launch(kind,
                    new DenseA { V = b, Ld = p.CPerGroup * taps, BatchStride = p.KPerGroup * p.CPerGroup * taps },
                    new ConvImageB { X = a, P = p },
                    new ConvOutputC { Y = dst, Bias = Bias is null ? b : bias, P = p, HasBias = Bias is null ? 0 : 1, Relu = relu ? 1 : 0 },
                    GemmEngine.Shape(p.KPerGroup, p.N * p.OH * p.OW, p.CPerGroup * taps, p.G));
                break;
            case Op.DataGrad when kind == GemmKernel.Direct:
                Device.Launch(bwdData!, p.N * p.C * p.H * p.W, p, a, b, dst, beta);
                break;
            case Op.DataGrad:
                gemm.Launch(kind, new ConvDataWeightA { W = b, P = p }, new ConvDataGradB { Dy = a, P = p },
                    new ConvDataGradC { Dx = dst, P = p, Beta = beta },
                    GemmEngine.Shape(p.CPerGroup, p.N * p.H * p.W, p.KPerGroup * taps, p.G));
                break;
            case Op.FilterGrad when kind == GemmKernel.Direct:
                Device.Launch(bwdFilter!, p.K * p.CPerGroup * taps, p, a, b, dst, beta);
                break;
            case Op.FilterGrad:
            {
                int m = p.KPerGroup, n = p.CPerGroup * taps, k = p.N * p.OH * p.OW;
                int splits = gemm.SplitsFor(kind, m, n, k, p.G);
                var A = new ConvFilterGradA { Dy = b, P = p };
                var B = new ConvFilterImageB { X = a, P = p };
                var shape = GemmEngine.Shape(m, n, k, p.G, splits);
                if (splits == 1)
                {
                    gemm.Launch(kind, A, B, new DenseC { V = dst, Bias = dst, Ld = n, BatchStride = m * n, Alpha = 1, Beta = beta }, shape);
                    break;
                }
                // Split-K: partial sums per slice, then a deterministic reduction (no atomics).
                var partial = Device.Rent((long)splits * p.G * m * n);
                gemm.Launch(kind, A, B, new PartialC { V = partial.View, M = m, N = n, Batches = p.G }, shape);
                Device.Launch(reduce!, p.G * m * n, shape, partial.View, dst, n, m * n, beta);
                Device.Return(partial);
                break;
            }
        }
    }

    /// <summary>
    /// The cuBLAS path: explicit im2col lowering of the whole batch into pooled scratch, one SGEMM per group, and
    /// layout permutes (see <see cref="LoweringKernels"/>).
    /// </summary>
    void RunLowered(Op op, ConvParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> dst, float beta, int epilogue)
    {
        var blas = Device.Gemm;
        int plane = p.OH * p.OW, np = p.N * plane, rows = p.CPerGroup * p.KH * p.KW, kg = p.KPerGroup;
        long colLength = (long)p.G * rows * np;
        if (colLength > int.MaxValue)
            throw new InvalidOperationException($"{Name}: the im2col matrix of {colLength:N0} values exceeds one buffer; use a smaller batch or --gemm auto");
        switch (op)
        {
            case Op.Forward:
            {
                var col = Device.Rent(colLength);
                var t = Device.Rent((long)p.K * np);
                Device.Launch(im2col!, (int)colLength, p, a, col.View);
                for (int g = 0; g < p.G; g++)
                    blas.Sgemm(false, false, kg, np, rows, 1f, b.SubView((long)g * kg * rows, (long)kg * rows), rows,
                        col.View.SubView((long)g * rows * np, (long)rows * np), np, 0f, t.View.SubView((long)g * kg * np, (long)kg * np), np);
                Device.Launch(toBatchMajor!, p.K * np, p.N, p.ByK, p.ByOutPlane, t.View, dst, Bias is null ? dst : bias, epilogue);
                Device.Return(t);
                Device.Return(col);
                break;
            }
            case Op.DataGrad: // a = dy, b = w
            {
                var dyT = Device.Rent((long)p.K * np);
                var colGrad = Device.Rent(colLength);
                Device.Launch(toChannelMajor!, p.K * np, p.ByN, p.K, p.ByOutPlane, a, dyT.View);
                for (int g = 0; g < p.G; g++)
                    blas.Sgemm(true, false, rows, np, kg, 1f, b.SubView((long)g * kg * rows, (long)kg * rows), rows,
                        dyT.View.SubView((long)g * kg * np, (long)kg * np), np, 0f, colGrad.View.SubView((long)g * rows * np, (long)rows * np), np);
                Device.Launch(col2im!, p.N * p.C * p.H * p.W, p, colGrad.View, dst, beta);
                Device.Return(colGrad);
                Device.Return(dyT);
                break;
            }
            case Op.FilterGrad: // a = x, b = dy
            {
                var col = Device.Rent(colLength);
                var dyT = Device.Rent((long)p.K * np);
                Device.Launch(im2col!, (int)colLength, p, a, col.View);
                Device.Launch(toChannelMajor!, p.K * np, p.ByN, p.K, p.ByOutPlane, b, dyT.View);
                for (int g = 0; g < p.G; g++)
                    blas.Sgemm(false, true, kg, rows, np, 1f, dyT.View.SubView((long)g * kg * np, (long)kg * np), np,
                        col.View.SubView((long)g * rows * np, (long)rows * np), np, beta, dst.SubView((long)g * kg * rows, (long)kg * rows), rows);
                Device.Return(dyT);
                Device.Return(col);
                break;
            }
        }
    }

    /// <summary>
    /// Values of the im2col matrix that one step of the blocked path lowers at most (16 MiB; at least one image):
    /// images go in chunks. Settable for tests.
    /// </summary>
    internal long BlockedColumnBudget { get; set; } = 1L << 22;

    /// <summary>
    /// The blocked path (<see cref="GemmKernel.Blocked"/>): the register-blocked GEMM reads weights, activations and
    /// gradients in place through strides, images being segments of the GEMM's columns or reduction, so only the
    /// im2col matrix is materialised, for a chunk of images at a time (<see cref="BlockedColumnBudget"/>). A 1×1
    /// convolution needs no lowering at all. With rows = C/G·KH·KW, P = OH·OW and per group g:
    /// forward y = W·col (+ bias per row); data gradient colGrad = Wᵀ·dy, then col2im; filter gradient
    /// dW = dy·colᵀ, accumulated over the chunks.
    /// </summary>
    void RunBlocked(Op op, ConvParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> dst, float beta, int epilogue)
    {
        int plane = p.OH * p.OW, rows = p.CPerGroup * p.KH * p.KW, kg = p.KPerGroup, cg = p.CPerGroup;
        int inImage = p.C * p.H * p.W, outImage = p.K * plane;
        bool pointwise = IsPointwise; // then rows = C/G and P = H·W
        long perImage = (long)p.G * rows * plane;
        int chunk = pointwise ? p.N : (int)Math.Clamp(BlockedColumnBudget / perImage, 1, p.N);
        if (!pointwise && perImage * chunk > int.MaxValue)
            throw new InvalidOperationException($"{Name}: the im2col matrix of one image ({perImage:N0} values) exceeds one buffer; use --gemm direct");
        var col = pointwise ? null : Device.Rent(perImage * chunk);
        var gemm = Device.Gemm;
        try
        {
            for (int img0 = 0; img0 < p.N; img0 += chunk)
            {
                int count = Math.Min(chunk, p.N - img0), np = count * plane;
                var pc = count == p.N ? p : (p with { N = count }).Prepare();
                // This chunk's images of x (dx for the data gradient) and of y (dy for the gradients).
                var x = (op == Op.DataGrad ? dst : a).SubView((long)img0 * inImage, (long)count * inImage);
                var y = (op == Op.Forward ? dst : op == Op.DataGrad ? a : b).SubView((long)img0 * outImage, (long)count * outImage);
                if (!pointwise && op != Op.DataGrad) Device.Launch(im2colRows!, p.G * rows * count * p.OH, pc, x, col!.View);
                switch (op)
                {
                    case Op.Forward: // A = W[g] (kg × rows); B = col[g] or x; C = y, an image per column segment
                    {
                        var q = new BlockedGemmParams
                        {
                            M = kg, N = np, K = rows, G = p.G, AStepM = rows, AStepK = 1, AStrideG = kg * rows,
                            CStepM = plane, CSegN = outImage, CStrideG = kg * plane, Alpha = 1,
                            BiasMode = (epilogue & 1) != 0 ? 2 : 0, Relu = (epilogue & 2) != 0 ? 1 : 0,
                        };
                        if (pointwise) (q.BStepK, q.BStepN, q.BSegN, q.BStrideG) = (plane, 1, inImage, cg * plane);
                        else (q.BStepK, q.BStepN, q.BSegN, q.BStrideG) = (np, 1, plane, rows * np);
                        gemm.LaunchBlocked(q.Prepare(plane), b, pointwise ? x : col!.View, (epilogue & 1) != 0 ? bias : b, y);
                        break;
                    }
                    case Op.DataGrad: // A = W[g]ᵀ (rows × kg); B = dy, an image per column segment; C = colGrad or dx
                    {
                        var q = new BlockedGemmParams
                        {
                            M = rows, N = np, K = kg, G = p.G, AStepM = 1, AStepK = rows, AStrideG = kg * rows,
                            BStepK = plane, BStepN = 1, BSegN = outImage, BStrideG = kg * plane, Alpha = 1,
                        };
                        if (pointwise) (q.CStepM, q.CSegN, q.CStrideG, q.Beta) = (plane, inImage, cg * plane, beta);
                        else (q.CStepM, q.CSegN, q.CStrideG) = (np, plane, rows * np);
                        gemm.LaunchBlocked(q.Prepare(plane), b, y, b, pointwise ? x : col!.View);
                        if (!pointwise) Device.Launch(col2im!, count * inImage, pc, col!.View, x, beta);
                        break;
                    }
                    case Op.FilterGrad: // A = dy (kg × np, an image per k segment); B = colᵀ or xᵀ; C = dW[g], summed over chunks
                    {
                        var q = new BlockedGemmParams
                        {
                            M = kg, N = rows, K = np, G = p.G, KSeg = plane,
                            AStepM = plane, AStepK = 1, ASegK = outImage, AStrideG = kg * plane,
                            CStepM = rows, CStrideG = kg * rows, Alpha = 1, Beta = img0 == 0 ? beta : 1f,
                        };
                        if (pointwise) (q.BStepK, q.BSegK, q.BStepN, q.BStrideG) = (1, inImage, plane, cg * plane);
                        else (q.BStepK, q.BSegK, q.BStepN, q.BStrideG) = (1, plane, np, rows * np);
                        gemm.LaunchBlocked(q.Prepare(), y, pointwise ? x : col!.View, y, dst);
                        break;
                    }
                }
            }
        }
        finally
        {
            if (col is not null) Device.Return(col);
        }
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        var p = Geometry(io.Inputs[0].Shape);
        var bias = Bias?.Value ?? Weight.Value;
        if (!picked.TryGetValue((Op.Forward, p.N), out var kind))
            kind = Pick(Op.Forward, p, io.Output.Size, io.Inputs[0].View, Weight.Value, bias);
        Run(Op.Forward, kind, p, io.Inputs[0].View, Weight.Value, bias, io.Output.View, 0f, io.FusedActivation.IsEnabled);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        var p = Geometry(io.Inputs[0].Shape);
        var (x, dy) = (io.Inputs[0].View, io.GradOutput.View);
        if (!picked.TryGetValue((Op.FilterGrad, p.N), out var kind))
            kind = Pick(Op.FilterGrad, p, Weight.Shape.Size, x, dy, dy);
        Run(Op.FilterGrad, kind, p, x, dy, dy, Weight.Grad, io.ParamGradBeta, false);
        if (Bias is not null)
            Device.Launch(bwdBias!, OutChannels, p, dy, Bias.Grad, io.ParamGradBeta);
        if (!io.GradInputs[0].IsEmpty)
        {
            if (!picked.TryGetValue((Op.DataGrad, p.N), out var dkind))
                dkind = Pick(Op.DataGrad, p, io.GradInputs[0].Size, dy, Weight.Value, dy);
            Run(Op.DataGrad, dkind, p, dy, Weight.Value, dy, io.GradInputs[0].View, io.GradInputBeta[0], false);
        }
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// Fully connected layer, as <c>torch.nn.Linear</c>: y = x·Wᵀ + b with W [out, in].
/// Backward: dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy. Any input is flattened per sample.
/// </summary>
public sealed class Linear : Layer
{
    Action<AcceleratorStream, Index1D, int, int, GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>? gemm;
    Action<AcceleratorStream, Index1D, int, int, int, int, ArrayView<float>, ArrayView<float>, float>? colSum;
    Action<AcceleratorStream, Index1D, int, int, int, ArrayView<float>, int, ArrayView<float>>? epilogueKernel;
    // Kernel family per (operation, batch size), chosen once (see GemmEngine); a lookup allocates nothing.
    readonly Dictionary<(Op, int), GemmKernel> picked = new();

    enum Op { Forward, FilterGrad, DataGrad }

    /// <summary>Creates a fully connected layer.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, string? name = null, Init init = Init.LeCunUniform) : base(name)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentException("Linear: feature counts must be positive");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = AddParameter("weight", new Shape(outFeatures, inFeatures), init, inFeatures, outFeatures);
        if (bias) Bias = AddParameter("bias", new Shape(outFeatures), Init.Zeros, inFeatures, outFeatures, isBias: true);
    }

    /// <inheritdoc/>
    public override string TypeName => "Linear";
    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Output features.</summary>
    public int OutFeatures { get; }
    /// <summary>Weight [out, in].</summary>
    public Parameter Weight { get; }
    /// <summary>Bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    public override Window? ReceptiveWindow => Window.Global;

    /// <inheritdoc/>
    public override bool CanFuse(FusedActivation activation) => activation.Slope == 0f && activation.Alpha == 0f;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs)
    {
        if (inputs[0].Size != InFeatures)
            throw Mismatch($"[{InFeatures}]", inputs[0], $"in_features={InFeatures}, input has {inputs[0].Size} values per sample");
        return new Shape(OutFeatures);
    }

    /// <inheritdoc/>
    public override long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) => (long)InFeatures * OutFeatures;

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        gemm = device.Load<GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(GemmKernels.Gemm);
        colSum = device.Load<int, int, ArrayView<float>, ArrayView<float>, float>(GemmKernels.ColumnSum);
        epilogueKernel = device.Load<int, ArrayView<float>, int, ArrayView<float>>(GemmKernels.Epilogue);
        picked.Clear();
    }

    // Kept out of the callers so that their hot path builds no closure.
    GemmKernel Pick(Op op, int batch, long outLength, GemmParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, bool hasBias)
    {
        var k = Device.Gemm.Choose($"linear.{op} batch={batch} in={InFeatures} out={OutFeatures}", outLength,
            (kind, o) => Gemm(kind, p with { Beta = 0 }, a, b, bias, hasBias, false, o), (long)p.M * p.N * p.K);
        picked[(op, batch)] = k;
        return k;
    }

    /// <summary>C = op(A)·op(B) (+ bias per column) + beta·C, then ReLU if fused, with the chosen kernel family.</summary>
    void Gemm(GemmKernel kind, GemmParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, bool hasBias, bool relu, ArrayView<float> c)
    {
        int epilogue = (hasBias ? 1 : 0) | (relu ? 2 : 0);
        if (kind == GemmKernel.Direct)
        {
            Device.Launch(gemm!, p.M * p.N, p, a, b, hasBias ? bias : b, epilogue, c);
            return;
        }
        if (kind == GemmKernel.CuBlas)
        {
            Device.Gemm.Sgemm(p.TransA != 0, p.TransB != 0, p.M, p.N, p.K, p.Alpha, a, p.Lda, b, p.Ldb, p.Beta, c, p.Ldc);
            if (epilogue != 0) Device.Launch(epilogueKernel!, p.M * p.N, p.N, hasBias ? bias : c, epilogue, c); // C is dense here (Ldc = N)
            return;
        }
        if (kind == GemmKernel.Blocked)
        {
            var q = new BlockedGemmParams
            {
                M = p.M, N = p.N, K = p.K, G = 1,
                AStepM = p.TransA != 0 ? 1 : p.Lda, AStepK = p.TransA != 0 ? p.Lda : 1,
                BStepK = p.TransB != 0 ? 1 : p.Ldb, BStepN = p.TransB != 0 ? p.Ldb : 1,
                CStepM = p.Ldc, Alpha = p.Alpha, Beta = p.Beta, BiasMode = hasBias ? 1 : 0, Relu = relu ? 1 : 0,
            };
            Device.Gemm.LaunchBlocked(q.Prepare(), a, b, hasBias ? bias : c, c);
            return;
        }
        var A = new DenseA { V = a, Ld = p.Lda, Trans = p.TransA };
        var B = new DenseB { V = b, Ld = p.Ldb, Trans = p.TransB };
        var C = new DenseC { V = c, Bias = hasBias ? bias : c, Ld = p.Ldc, BiasMode = hasBias ? 1 : 0, Relu = relu ? 1 : 0, Alpha = p.Alpha, Beta = p.Beta };
        Device.Gemm.Launch(kind, A, B, C, GemmEngine.Shape(p.M, p.N, p.K));
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        int n = io.Batch;
        var p = new GemmParams { M = n, N = OutFeatures, K = InFeatures, TransA = 0, TransB = 1, Lda = InFeatures, Ldb = InFeatures, Ldc = OutFeatures, Alpha = 1, Beta = 0 };
        var x = io.Inputs[0].View;
        var bias = Bias?.Value ?? Weight.Value;
        if (!picked.TryGetValue((Op.Forward, n), out var kind))
            kind = Pick(Op.Forward, n, io.Output.Size, p, x, Weight.Value, bias, Bias is not null);
        Gemm(kind, p, x, Weight.Value, bias, Bias is not null, io.FusedActivation.IsEnabled, io.Output.View);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        int n = io.Batch;
        var dw = new GemmParams { M = OutFeatures, N = InFeatures, K = n, TransA = 1, TransB = 0, Lda = OutFeatures, Ldb = InFeatures, Ldc = InFeatures, Alpha = 1, Beta = io.ParamGradBeta };
        var dy = io.GradOutput.View;
        var x = io.Inputs[0].View;
        if (!picked.TryGetValue((Op.FilterGrad, n), out var kind))
            kind = Pick(Op.FilterGrad, n, Weight.Shape.Size, dw, dy, x, x, false);
        Gemm(kind, dw, dy, x, Weight.Grad, false, false, Weight.Grad);
        if (Bias is not null)
            Device.Launch(colSum!, OutFeatures, n, OutFeatures, io.GradOutput.View, Bias.Grad, io.ParamGradBeta);
        if (!io.GradInputs[0].IsEmpty)
        {
            var dx = new GemmParams { M = n, N = InFeatures, K = OutFeatures, TransA = 0, TransB = 0, Lda = OutFeatures, Ldb = InFeatures, Ldc = InFeatures, Alpha = 1, Beta = io.GradInputBeta[0] };
            if (!picked.TryGetValue((Op.DataGrad, n), out var dkind))
                dkind = Pick(Op.DataGrad, n, io.GradInputs[0].Size, dx, dy, Weight.Value, dy, false);
            Gemm(dkind, dx, dy, Weight.Value, Weight.Value, false, false, io.GradInputs[0].View);
        }
    }
}

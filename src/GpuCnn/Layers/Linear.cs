using GpuCnn.Devices;
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
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        int n = io.Batch;
        var p = new GemmParams { M = n, N = OutFeatures, K = InFeatures, TransA = 0, TransB = 1, Lda = InFeatures, Ldb = InFeatures, Ldc = OutFeatures, Alpha = 1, Beta = 0 };
        Device.Launch(gemm!, n * OutFeatures, p, io.Inputs[0].View, Weight.Value, Bias?.Value ?? Weight.Value, Bias is null ? 0 : 1, io.Output.View);
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        int n = io.Batch;
        var dw = new GemmParams { M = OutFeatures, N = InFeatures, K = n, TransA = 1, TransB = 0, Lda = OutFeatures, Ldb = InFeatures, Ldc = InFeatures, Alpha = 1, Beta = io.ParamGradBeta };
        Device.Launch(gemm!, OutFeatures * InFeatures, dw, io.GradOutput.View, io.Inputs[0].View, Weight.Value, 0, Weight.Grad);
        if (Bias is not null)
            Device.Launch(colSum!, OutFeatures, n, OutFeatures, io.GradOutput.View, Bias.Grad, io.ParamGradBeta);
        if (!io.GradInputs[0].IsEmpty)
        {
            var dx = new GemmParams { M = n, N = InFeatures, K = OutFeatures, TransA = 0, TransB = 0, Lda = OutFeatures, Ldb = InFeatures, Ldc = InFeatures, Alpha = 1, Beta = io.GradInputBeta[0] };
            Device.Launch(gemm!, n * InFeatures, dx, io.GradOutput.View, Weight.Value, Weight.Value, 0, io.GradInputs[0].View);
        }
    }
}

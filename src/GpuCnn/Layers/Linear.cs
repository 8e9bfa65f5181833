using GpuCnn.Devices;
using GpuCnn.Kernels;
using GpuCnn.Kernels.Gemm;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Fully connected layer, as <c>torch.nn.Linear</c>: y = x·Wᵀ + b with W [out, in].
/// Backward: dx = dy·W, dW = dyᵀ·x, db = Σ_batch dy. Any input is flattened per sample. The three products go to the
/// device's <see cref="GemmEngine"/>, which picks the kernel family.
/// </summary>
public sealed class Linear : Layer
{
    Kernel<ColumnSumArgs>? colSum;

    /// <summary>Creates a fully connected layer.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, string? name = null, Init init = Init.LeCunUniform) : base(name)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentException("Linear: feature counts must be positive");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = AddParameter("weight", new Shape(outFeatures, inFeatures), init, inFeatures, outFeatures);
        if (bias) Bias = AddParameter("bias", new Shape(outFeatures), Init.Zeros, inFeatures, outFeatures, noWeightDecay: true);
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

    /// <summary>Any member of the <see cref="FusedActivation"/> family: every family's epilogue applies it last.</summary>
    public override bool CanFuse(FusedActivation activation) => true;

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
    protected override void LoadKernels(ComputeDevice device) => colSum = device.LoadKernel<ColumnSumArgs>(GemmKernels.ColumnSum);

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        int n = io.Batch;
        var act = io.FusedActivation;
        var epilogue = (Bias is null ? GemmEpilogue.None : GemmEpilogue.Bias) | (act.IsEnabled ? GemmEpilogue.Activation : GemmEpilogue.None);
        var y = GemmProduct.Dense(GemmOperation.LinearForward, n, OutFeatures, InFeatures, false, true, InFeatures, InFeatures, OutFeatures);
        Device.Gemm.Run(y with { Epilogue = epilogue, Activation = act, Owner = Name },
            new GemmOperands { A = io.Inputs[0].View, B = Weight.Value, Bias = Bias is null ? default : Bias.Value, C = io.Output.View });
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        int n = io.Batch;
        var dy = io.GradOutput.View;
        var dw = GemmProduct.Dense(GemmOperation.LinearFilterGrad, OutFeatures, InFeatures, n, true, false, OutFeatures, InFeatures, InFeatures);
        Device.Gemm.Run(dw with { Beta = io.ParamGradBeta, Owner = Name }, new GemmOperands { A = dy, B = io.Inputs[0].View, C = Weight.Grad });
        if (Bias is not null)
            colSum!.Launch(OutFeatures, new() { Rows = n, Cols = OutFeatures, M = dy, Output = Bias.Grad, Beta = io.ParamGradBeta });
        if (!io.GradInputs[0].IsEmpty)
        {
            var dx = GemmProduct.Dense(GemmOperation.LinearDataGrad, n, InFeatures, OutFeatures, false, false, OutFeatures, InFeatures, InFeatures);
            Device.Gemm.Run(dx with { Beta = io.GradInputBeta[0], Owner = Name },
                new GemmOperands { A = dy, B = Weight.Value, C = io.GradInputs[0].View });
        }
    }
}

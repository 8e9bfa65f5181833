using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;

namespace GpuCnn.Layers;

/// <summary>
/// Stochastic pooling (Zeiler and Fergus 2013): in training each window outputs one activation, sampled with
/// probability a_i / Σ a (over the window's positive activations) from counter-based Philox numbers keyed by
/// (seed, layer) at (output element, step); at test time the probability-weighted average Σ a² / Σ a.
/// </summary>
public sealed class StochasticPool2d : Pool2d
{
    Kernel<StochasticForwardArgs>? fwd;
    Kernel<StochasticBackwardArgs>? bwd;

    /// <summary>Creates the layer; <paramref name="stride"/> defaults to <paramref name="kernelSize"/>.</summary>
    public StochasticPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, string? name = null)
        : base(kernelSize, stride, padding, ceilMode, name) { }

    /// <inheritdoc/>
    public override bool UsesStepRandomness => true;

    /// <inheritdoc/>
    public override string TypeName => "StochasticPool2d";

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        fwd = device.LoadKernel<StochasticForwardArgs>(PoolKernels.StochasticForward);
        bwd = device.LoadKernel<StochasticBackwardArgs>(PoolKernels.StochasticBackward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        fwd!.Launch(io.Output.Size, new()
        {
            Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Y = io.Output.View, Key = RandomKey(io.Seed),
            Step = io.Step, Offset = io.ElementOffset, Training = io.Training ? 1 : 0,
        });

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        bwd!.Launch(io.GradInputs[0].Size, new()
        {
            Geometry = Geometry(io.Inputs[0].Shape), X = io.Inputs[0].View, Dy = io.GradOutput.View, Dx = io.GradInputs[0].View,
            Key = RandomKey(io.Seed), Step = io.Step, Offset = io.ElementOffset, Training = io.Training ? 1 : 0, Beta = io.GradInputBeta[0],
        });
    }
}

using GpuCnn.Devices;
using GpuCnn.Kernels.Pool;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// Stochastic pooling (Zeiler and Fergus 2013): in training each window outputs one activation, sampled with
/// probability a_i / Σ a (over the window's positive activations) from counter-based Philox numbers keyed by
/// (seed, layer) at (output element, step); at test time the probability-weighted average Σ a² / Σ a.
/// </summary>
public sealed class StochasticPool2d : Pool2d
{
    Action<AcceleratorStream, Index1D, int, int, PoolParams, ArrayView<float>, ArrayView<float>, ulong, ulong, int>? fwd;
    Action<AcceleratorStream, Index1D, int, int, PoolParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ulong, ulong, int, float>? bwd;

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
        fwd = device.Load<PoolParams, ArrayView<float>, ArrayView<float>, ulong, ulong, int>(PoolKernels.StochasticForward);
        bwd = device.Load<PoolParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ulong, ulong, int, float>(PoolKernels.StochasticBackward);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io) =>
        Device.Launch(fwd!, io.Output.Size, Geometry(io.Inputs[0].Shape), io.Inputs[0].View, io.Output.View,
            RandomKey(io.Seed), io.Step, io.Training ? 1 : 0);

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        if (io.GradInputs[0].IsEmpty) return;
        Device.Launch(bwd!, io.GradInputs[0].Size, Geometry(io.Inputs[0].Shape), io.Inputs[0].View, io.GradOutput.View,
            io.GradInputs[0].View, RandomKey(io.Seed), io.Step, io.Training ? 1 : 0, io.GradInputBeta[0]);
    }
}

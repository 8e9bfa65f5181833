using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Kernels.Optim;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Training;

/// <summary>
/// Clips the parameter gradients to a global L2 norm, as <c>torch.nn.utils.clip_grad_norm_(params, max_norm)</c>: the
/// norm is reduced on the device and the scale applied there, so clipping adds kernels but no host synchronisation.
/// One device only (the norm of a placement over several would need a cross-device reduction).
/// </summary>
public sealed class GradClipper : IDisposable
{
    const int Slots = 1024;
    readonly ParameterStore.DeviceSlice slice;
    readonly MemoryBuffer1D<float, Stride1D.Dense> partials, normAndFactor;
    readonly Kernel<SumSquaresArgs> sum;
    readonly Kernel<ClipFactorArgs> factor;
    readonly Kernel<ScaleByArgs> scale;

    /// <summary>Prepares clipping of <paramref name="store"/>'s gradients to <paramref name="maxNorm"/>.</summary>
    public GradClipper(ParameterStore store, float maxNorm)
    {
        if (!(maxNorm > 0) || !float.IsFinite(maxNorm)) throw new ArgumentException($"the clip norm must be a finite number > 0, got {maxNorm}");
        if (store.Slices.Count != 1) throw new ArgumentException("gradient clipping runs on one device; this model is placed on several");
        MaxNorm = maxNorm;
        slice = store.Slices[0];
        var d = slice.Device;
        partials = d.Allocate<float>(Slots);
        normAndFactor = d.Allocate<float>(2);
        sum = d.LoadKernel<SumSquaresArgs>(ClipKernels.SumSquares);
        factor = d.LoadKernel<ClipFactorArgs>(ClipKernels.ClipFactor);
        scale = d.LoadKernel<ScaleByArgs>(ClipKernels.ScaleBy);
    }

    /// <summary>The largest global norm the gradients keep.</summary>
    public float MaxNorm { get; }

    /// <summary>Queues the clipping of the current gradients.</summary>
    public void Clip()
    {
        int n = (int)slice.TrainableLength;
        sum.Launch(Slots, new() { G = slice.Grads.View, Length = n, Partials = partials.View });
        factor.Launch(1, new() { Partials = partials.View, NormAndFactor = normAndFactor.View, MaxNorm = MaxNorm });
        scale.Launch(n, new() { G = slice.Grads.View, NormAndFactor = normAndFactor.View });
    }

    /// <summary>The global norm before the last <see cref="Clip"/> (downloads it: a synchronisation).</summary>
    public float LastNorm()
    {
        var a = new float[2];
        normAndFactor.View.CopyToCPU(slice.Device.Stream, a);
        return a[0];
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        partials.Dispose();
        normAndFactor.Dispose();
    }
}

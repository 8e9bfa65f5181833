using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Kernels.Optim;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Optimizers;

/// <summary>
/// Stochastic gradient descent with momentum, weight decay and optional Nesterov momentum, with PyTorch's
/// semantics (see <see cref="OptimKernels.Sgd"/>). One kernel launch per device updates every parameter there.
/// </summary>
public sealed class Sgd : Optimizer
{
    readonly List<MemoryBuffer1D<float, Stride1D.Dense>> velocity = new();
    readonly List<Kernel<SgdArgs>> kernels = new();

    /// <summary>Creates the optimiser.</summary>
    public Sgd(ParameterStore store, float learningRate, float momentum = 0f, float weightDecay = 0f, bool nesterov = false,
        bool decayBiases = true)
        : base(store, learningRate, decayBiases)
    {
        if (momentum < 0 || momentum >= 1) throw new ArgumentException($"momentum must be in [0, 1), got {momentum}");
        if (weightDecay < 0) throw new ArgumentException($"weight decay must be non-negative, got {weightDecay}");
        if (nesterov && momentum == 0) throw new ArgumentException("Nesterov momentum needs momentum > 0");
        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        foreach (var s in store.Slices)
        {
            var v = s.Device.Allocate<float>(s.Length);
            v.View.MemSetToZero(s.Device.Stream);
            velocity.Add(v);
            kernels.Add(s.Device.LoadKernel<SgdArgs>(OptimKernels.Sgd));
        }
    }

    /// <summary>Momentum μ.</summary>
    public float Momentum { get; }
    /// <summary>L2 weight decay λ.</summary>
    public float WeightDecay { get; }
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public override string Name => "sgd";

    /// <inheritdoc/>
    public override int StateBuffers => 1;

    /// <inheritdoc/>
    public override void Step()
    {
        for (int i = 0; i < Store.Slices.Count; i++)
        {
            var s = Store.Slices[i];
            kernels[i].Launch((int)s.TrainableLength, new()
            {
                P = s.Values.View, G = s.Grads.View, V = velocity[i].View, LearningRate = LearningRate, Momentum = Momentum,
                WeightDecay = WeightDecay, Nesterov = Nesterov ? 1 : 0, DecayEnd = DecayEnd(s),
            });
        }
        Steps++;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<float[]> GetState()
    {
        var list = new List<float[]>();
        for (int i = 0; i < velocity.Count; i++)
        {
            var a = new float[Store.Slices[i].Length];
            velocity[i].View.CopyToCPU(Store.Slices[i].Device.Stream, a);
            list.Add(a);
        }
        return list;
    }

    /// <inheritdoc/>
    public override void SetState(IReadOnlyList<float[]> state, long steps)
    {
        if (state.Count != velocity.Count)
            throw new ArgumentException($"optimiser state has {state.Count} slice(s), this model has {velocity.Count}");
        for (int i = 0; i < velocity.Count; i++)
        {
            if (state[i].Length != Store.Slices[i].Length)
                throw new ArgumentException($"optimiser state slice {i} has {state[i].Length} values, expected {Store.Slices[i].Length}");
            velocity[i].View.CopyFromCPU(Store.Slices[i].Device.Stream, state[i]);
        }
        Steps = steps;
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        foreach (var v in velocity) v.Dispose();
        velocity.Clear();
    }
}

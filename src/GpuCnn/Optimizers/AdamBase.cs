using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Kernels.Optim;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Optimizers;

/// <summary>
/// Shared machinery of <see cref="Adam"/> and <see cref="AdamW"/>: first and second moments per parameter value,
/// bias corrections computed on the host in double for each step, and one kernel launch per device slice.
/// </summary>
public abstract class AdamBase : Optimizer
{
    readonly List<MemoryBuffer1D<float, Stride1D.Dense>> moments = new();
    readonly List<Kernel<AdamArgs>> kernels = new();

    /// <summary>Validates the hyper-parameters and allocates zeroed moments on every device of the store.</summary>
    private protected AdamBase(ParameterStore store, float learningRate, float beta1, float beta2, float eps, float weightDecay,
        bool decayBiases, Action<Index1D, int, int, AdamArgs> kernel)
        : base(store, learningRate, decayBiases)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentException($"beta1 must be in [0, 1), got {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"beta2 must be in [0, 1), got {beta2}");
        if (!(eps > 0) || float.IsInfinity(eps)) throw new ArgumentException($"eps must be positive and finite, got {eps}");
        if (!(weightDecay >= 0) || float.IsInfinity(weightDecay))
            throw new ArgumentException($"weight decay must be non-negative, got {weightDecay}");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        foreach (var s in store.Slices)
        {
            // One buffer per slice: m in [0, Length), v in [Length, 2·Length), the layout of GetState.
            var mv = s.Device.Allocate<float>(2 * s.Length);
            mv.View.MemSetToZero(s.Device.Stream);
            moments.Add(mv);
            kernels.Add(s.Device.LoadKernel(kernel));
        }
    }

    /// <summary>Decay rate β1 of the first moment (running mean of the gradient).</summary>
    public float Beta1 { get; }
    /// <summary>Decay rate β2 of the second moment (running mean of the squared gradient).</summary>
    public float Beta2 { get; }
    /// <summary>Term ε added to the denominator for numerical stability.</summary>
    public float Eps { get; }
    /// <summary>Weight decay λ (L2 in the gradient for <see cref="Adam"/>, decoupled for <see cref="AdamW"/>).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override int StateBuffers => 2;

    /// <inheritdoc/>
    public override bool VariesPerStep => true;

    /// <inheritdoc/>
    public override void Step()
    {
        long t = Steps + 1;
        var a = new AdamArgs
        {
            LearningRate = LearningRate,
            Beta1 = Beta1,
            Beta2 = Beta2,
            Eps = Eps,
            WeightDecay = WeightDecay,
            BiasCorrection1 = (float)(1 - Math.Pow(Beta1, t)),
            BiasCorrection2Sqrt = (float)Math.Sqrt(1 - Math.Pow(Beta2, t)),
        };
        for (int i = 0; i < Store.Slices.Count; i++)
        {
            var s = Store.Slices[i];
            var mv = moments[i].View;
            a.P = s.Values.View;
            a.G = s.Grads.View;
            a.M = mv.SubView(0, s.Length);
            a.V = mv.SubView(s.Length, s.Length);
            a.DecayEnd = DecayEnd(s);
            kernels[i].Launch((int)s.TrainableLength, a);
        }
        Steps = t;
    }

    /// <summary>Per device slice, <c>float[2 × Length]</c>: the first moments m, then the second moments v.</summary>
    public override IReadOnlyList<float[]> GetState()
    {
        var list = new List<float[]>();
        for (int i = 0; i < moments.Count; i++)
        {
            var a = new float[2 * Store.Slices[i].Length];
            moments[i].View.CopyToCPU(Store.Slices[i].Device.Stream, a);
            list.Add(a);
        }
        return list;
    }

    /// <summary>
    /// Restores <see cref="GetState"/>'s layout; <paramref name="steps"/> is the step count t that the bias
    /// corrections continue from.
    /// </summary>
    public override void SetState(IReadOnlyList<float[]> state, long steps)
    {
        if (state.Count != moments.Count)
            throw new ArgumentException($"optimiser state has {state.Count} slice(s), this model has {moments.Count}");
        if (steps < 0) throw new ArgumentException($"step count must be non-negative, got {steps}");
        for (int i = 0; i < moments.Count; i++)
        {
            long expected = 2 * Store.Slices[i].Length;
            if (state[i].Length != expected)
                throw new ArgumentException($"optimiser state slice {i} has {state[i].Length} values, expected {expected} (m and v)");
        }
        for (int i = 0; i < moments.Count; i++)
            moments[i].View.CopyFromCPU(Store.Slices[i].Device.Stream, state[i]);
        Steps = steps;
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        foreach (var b in moments) b.Dispose();
        moments.Clear();
    }
}

using GpuCnn.Tensors;
using ILGPU;

namespace GpuCnn.Layers;

/// <summary>How a parameter is initialised.</summary>
public enum Init
{
    /// <summary>All zeros (biases).</summary>
    Zeros,
    /// <summary>He/Kaiming normal: N(0, 2 / fan_in). For layers followed by ReLU.</summary>
    HeNormal,
    /// <summary>He/Kaiming uniform: U(±√(6 / fan_in)).</summary>
    HeUniform,
    /// <summary>Xavier/Glorot uniform: U(±√(6 / (fan_in + fan_out))). For tanh and sigmoid.</summary>
    XavierUniform,
    /// <summary>Xavier/Glorot normal: N(0, 2 / (fan_in + fan_out)).</summary>
    XavierNormal,
    /// <summary>PyTorch's default for Conv2d/Linear: U(±1/√fan_in).</summary>
    LeCunUniform,
    /// <summary>All ones (normalisation scales, running variances).</summary>
    Ones,
    /// <summary>N(0, σ²) with σ = <see cref="Parameter.InitValue"/> (AlexNet's paper used σ = 0.01).</summary>
    Normal,
    /// <summary>Every value equal to <see cref="Parameter.InitValue"/> (AlexNet's paper set some biases to 1).</summary>
    Constant,
}

/// <summary>
/// A trainable tensor of a layer. Its values and gradients live on the device of the node that owns it, as views
/// into that device's flat parameter store, so one optimiser launch updates them all.
/// </summary>
public sealed class Parameter
{
    internal Parameter(Layer owner, string name, Shape shape, Init init, int fanIn, int fanOut, bool noWeightDecay)
    {
        Owner = owner;
        Name = name;
        Shape = shape;
        Init = init;
        FanIn = fanIn;
        FanOut = fanOut;
        NoWeightDecay = noWeightDecay;
    }

    /// <summary>The layer that owns it.</summary>
    public Layer Owner { get; }
    /// <summary>Short name, e.g. <c>weight</c>.</summary>
    public string Name { get; }
    /// <summary><c>layer.name</c>, as used in checkpoints.</summary>
    public string FullName => $"{Owner.Name}.{Name}";
    /// <summary>Shape.</summary>
    public Shape Shape { get; }
    /// <summary>Initialiser.</summary>
    public Init Init { get; set; }
    /// <summary>The standard deviation of <see cref="Init.Normal"/> or the value of <see cref="Init.Constant"/>.</summary>
    public float InitValue { get; set; }
    /// <summary>Fan-in used by the initialiser.</summary>
    public int FanIn { get; }
    /// <summary>Fan-out used by the initialiser.</summary>
    public int FanOut { get; }
    /// <summary>
    /// True for parameters that weight decay leaves alone: biases and normalisation parameters, as the usual
    /// "no decay" parameter group of PyTorch recipes (an optimiser may still decay them when asked).
    /// </summary>
    public bool NoWeightDecay { get; }

    /// <summary>False for buffers such as running statistics: stored and checkpointed, never optimised or counted as parameters.</summary>
    public bool Trainable { get; internal init; } = true;

    /// <summary>Device view of the values (valid once an executor has bound the layer).</summary>
    public ArrayView<float> Value { get; internal set; }
    /// <summary>Device view of the gradient (valid once an executor has bound the layer).</summary>
    public ArrayView<float> Grad { get; internal set; }

    /// <summary>Initial values from a seed; depends only on (seed, full name, index).</summary>
    public float[] InitialValues(int seed)
    {
        var v = new float[Shape.Size];
        ulong key = Philox.Key(seed, FullName);
        double fanAvg = (FanIn + FanOut) / 2.0;
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = Init switch
            {
                Init.Zeros => 0f,
                Init.Ones => 1f,
                Init.Normal => Philox.Normal(key, (ulong)i) * InitValue,
                Init.Constant => InitValue,
                Init.HeNormal => (float)(Philox.Normal(key, (ulong)i) * Math.Sqrt(2.0 / FanIn)),
                Init.HeUniform => (float)((2 * Philox.Uniform(key, (ulong)i) - 1) * Math.Sqrt(6.0 / FanIn)),
                Init.XavierUniform => (float)((2 * Philox.Uniform(key, (ulong)i) - 1) * Math.Sqrt(3.0 / fanAvg)),
                Init.XavierNormal => (float)(Philox.Normal(key, (ulong)i) * Math.Sqrt(1.0 / fanAvg)),
                Init.LeCunUniform => (float)((2 * Philox.Uniform(key, (ulong)i) - 1) / Math.Sqrt(FanIn)),
                _ => throw new InvalidOperationException($"unknown init {Init}"),
            };
        }
        return v;
    }
}

using ILGPU.Algorithms;

namespace GpuCnn.Kernels;

/// <summary>
/// The activation a producer (a convolution or fully connected layer) applies in its output epilogue instead of a
/// separate kernel: the piecewise family f(v) = v for v ≥ 0 (and NaN), f(v) = Slope·v + Alpha·(eᵛ − 1) for v &lt; 0,
/// each term present only when its coefficient is nonzero. ReLU is (0, 0), LeakyReLU(s) is (s, 0) and ELU(α) is
/// (0, α). For Slope ≥ 0 and Alpha ≥ 0, f(v) &gt; 0 exactly when v &gt; 0, so the fused backward can run in place from
/// the output alone. A default value applies nothing.
/// </summary>
public struct FusedActivation
{
    /// <summary>1 to apply the activation, 0 for none.</summary>
    public int Enabled;
    /// <summary>Slope of the linear part for negative inputs.</summary>
    public float Slope;
    /// <summary>Scale of the exponential part for negative inputs.</summary>
    public float Alpha;

    /// <summary>No activation.</summary>
    public static FusedActivation None => default;

    /// <summary>ReLU: max(v, 0), written as v &lt; 0 ? 0 : v.</summary>
    public static FusedActivation Relu => new() { Enabled = 1 };

    /// <summary>LeakyReLU: v &lt; 0 ? slope·v : v.</summary>
    public static FusedActivation Leaky(float slope) => new() { Enabled = 1, Slope = slope };

    /// <summary>ELU: v &lt; 0 ? α(eᵛ − 1) : v.</summary>
    public static FusedActivation Elu(float alpha) => new() { Enabled = 1, Alpha = alpha };

    /// <summary>True when the value applies an activation.</summary>
    public readonly bool IsEnabled => Enabled != 0;

    /// <summary>f(v); the identity when disabled.</summary>
    public readonly float Apply(float v)
    {
        if (Enabled == 0 || !(v < 0f)) return v;
        float r = 0f;
        if (Slope != 0f) r = Slope * v;
        if (Alpha != 0f) r += Alpha * (XMath.Exp(v) - 1f);
        return r;
    }
}

namespace GpuCnn.Kernels;

/// <summary>
/// Division by a positive divisor fixed at launch, as one widening multiply and a shift (the round-up method of
/// Granlund and Montgomery). GPUs have no integer divide instruction: <c>n / d</c> compiles to a loop of about twenty
/// instructions, which the implicit-GEMM loaders would pay several times per element.
/// With l = ⌈log2 d⌉, s = 31 + l and M = ⌈2^s / d⌉ (which fits in 32 bits), ⌊n·M / 2^s⌋ = ⌊n / d⌋ for every
/// 0 ≤ n &lt; 2^31: writing M·d = 2^s + e with 0 ≤ e &lt; d, the excess n·e / (d·2^s) is below 1/d, since n·e &lt; 2^31·2^l.
/// </summary>
public struct FastDiv
{
    /// <summary>The divisor, at least 1.</summary>
    public int D;
    /// <summary>The magic multiplier M.</summary>
    public uint M;
    /// <summary>The shift s.</summary>
    public int S;

    /// <summary>The multiplier and shift for <paramref name="d"/> (at least 1).</summary>
    public static FastDiv For(int d)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(d, 1);
        int s = 31 + (d == 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(d - 1))); // 31 + ⌈log2 d⌉
        ulong m = ((1UL << s) + (ulong)d - 1) / (ulong)d; // ⌈2^s / d⌉ < 2^32; s ≤ 62, so no overflow
        return new FastDiv { D = d, M = (uint)m, S = s };
    }

    /// <summary>⌊n / D⌋ for 0 ≤ n &lt; 2^31.</summary>
    public readonly int Div(int n) => (int)(((ulong)(uint)n * M) >> S);

    /// <summary>⌊n / D⌋ and, in <paramref name="remainder"/>, n mod D, for 0 ≤ n &lt; 2^31 (as Math.DivRem).</summary>
    public readonly int DivRem(int n, out int remainder)
    {
        int q = Div(n);
        remainder = n - q * D;
        return q;
    }

    /// <summary>n mod D for 0 ≤ n &lt; 2^31, from the quotient.</summary>
    public readonly int Mod(int n, int quotient) => n - quotient * D;
}

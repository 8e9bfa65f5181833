namespace GpuCnn.Tensors;

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011): a counter-based generator.
/// The value for (key, counter) is a pure function, so initialisation does not depend on the device, the order of
/// work or how a graph is placed.
/// </summary>
public static class Philox
{
    /// <summary>Four 32-bit random words for a 64-bit key and a 128-bit counter.</summary>
    public static (uint, uint, uint, uint) Block(ulong key, ulong counterLo, ulong counterHi = 0)
    {
        var b = Kernels.Random.Philox4x32.Block(key, counterLo, counterHi);
        return (b.X, b.Y, b.Z, b.W);
    }

    /// <summary>A uniform float in [0, 1) (the same function kernels use, see <see cref="Kernels.Random.Philox4x32"/>).</summary>
    public static float Uniform(ulong key, ulong index, ulong hi = 0) => Kernels.Random.Philox4x32.Uniform(key, index, hi);

    /// <summary>A standard normal sample (Box–Muller over one Philox block).</summary>
    public static float Normal(ulong key, ulong index)
    {
        var (a, b, _, _) = Block(key, index, 1);
        double u1 = ((a >> 8) + 1.0) / 16777217.0; // in (0, 1], so the log is finite
        double u2 = (b >> 8) / 16777216.0;
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>A stable 64-bit key from a seed and a name (FNV-1a), e.g. a parameter's full name.</summary>
    public static ulong Key(int seed, string name)
    {
        ulong h = 14695981039346656037UL ^ (ulong)(uint)seed;
        foreach (char ch in name) { h ^= ch; h *= 1099511628211UL; }
        return h;
    }
}

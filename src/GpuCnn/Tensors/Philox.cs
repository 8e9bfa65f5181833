namespace GpuCnn.Tensors;

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", 2011): a counter-based generator.
/// The value for (key, counter) is a pure function, so initialisation does not depend on the device, the order of
/// work or how a graph is placed.
/// </summary>
public static class Philox
{
    const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>Four 32-bit random words for a 64-bit key and a 128-bit counter.</summary>
    public static (uint, uint, uint, uint) Block(ulong key, ulong counterLo, ulong counterHi = 0)
    {
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        uint c0 = (uint)counterLo, c1 = (uint)(counterLo >> 32), c2 = (uint)counterHi, c3 = (uint)(counterHi >> 32);
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint)p1; c3 = (uint)p0; c0 = n0; c2 = n2;
            k0 += W0; k1 += W1;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>A uniform float in [0, 1) from 24 random bits of the block at <paramref name="index"/>.</summary>
    public static float Uniform(ulong key, ulong index)
    {
        var (a, _, _, _) = Block(key, index);
        return (a >> 8) * (1f / 16777216f);
    }

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

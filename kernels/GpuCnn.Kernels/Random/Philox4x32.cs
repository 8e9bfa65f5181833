namespace GpuCnn.Kernels.Random;

/// <summary>
/// Philox4x32-10 (Salmon et al., SC'11), usable inside kernels and on the host alike, so device and host draw the
/// same numbers: the value for (key, counter) is a pure function. Dropout masks and stochastic pooling draw with
/// key = (seed, layer) and counter = (element, step), so results depend neither on the device nor on placement.
/// </summary>
public static class Philox4x32
{
    const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The first 32-bit word of the block for a 64-bit key and a 128-bit counter (lo, hi).</summary>
    public static uint Word(ulong key, ulong counterLo, ulong counterHi) => Block(key, counterLo, counterHi).X;

    /// <summary>The full four-word block for a 64-bit key and a 128-bit counter (lo, hi).</summary>
    public static PhiloxBlock Block(ulong key, ulong counterLo, ulong counterHi)
    {
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        uint c0 = (uint)counterLo, c1 = (uint)(counterLo >> 32), c2 = (uint)counterHi, c3 = (uint)(counterHi >> 32);
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint)p1;
            c3 = (uint)p0;
            c0 = n0;
            c2 = n2;
            k0 += W0;
            k1 += W1;
        }
        return new PhiloxBlock { X = c0, Y = c1, Z = c2, W = c3 };
    }

    /// <summary>A uniform float in [0, 1) from 24 random bits.</summary>
    public static float Uniform(ulong key, ulong counterLo, ulong counterHi) =>
        (Word(key, counterLo, counterHi) >> 8) * (1f / 16777216f);
}

/// <summary>Four random 32-bit words.</summary>
public struct PhiloxBlock
{
    /// <summary>The words.</summary>
    public uint X, Y, Z, W;
}

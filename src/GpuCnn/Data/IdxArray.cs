namespace GpuCnn.Data;

/// <summary>
/// An array read from or written to an IDX file (the MNIST container format).
/// Only the unsigned-byte element type is supported, which is all MNIST and its clones use.
/// </summary>
public sealed class IdxArray
{
    /// <summary>Wraps <paramref name="data"/> (not copied) with shape <paramref name="dims"/> (copied).</summary>
    /// <param name="dims">1 to 255 non-negative dimensions, outermost first.</param>
    /// <param name="data">Row-major elements; its length must be the product of <paramref name="dims"/>.</param>
    /// <exception cref="ArgumentException">The shape is invalid or does not match the data length.</exception>
    public IdxArray(int[] dims, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(data);
        if (dims.Length is < 1 or > 255)
            throw new ArgumentException($"an IDX array needs 1 to 255 dimensions, got {dims.Length}", nameof(dims));
        long product = 1;
        foreach (int d in dims)
        {
            if (d < 0)
                throw new ArgumentException($"dimension {d} is negative", nameof(dims));
            product = Math.Min(product * d, (long)int.MaxValue + 1); // saturate: only "== Length" matters
        }
        if (product != data.Length)
            throw new ArgumentException(
                $"dims [{string.Join(", ", dims)}] need {product} elements, data has {data.Length}", nameof(data));
        Dims = (int[])dims.Clone();
        Data = data;
    }

    /// <summary>The dimensions, outermost first (e.g. count, rows, columns).</summary>
    public int[] Dims { get; }

    /// <summary>The elements in row-major order.</summary>
    public byte[] Data { get; }
}

namespace GpuCnn.Tensors;

/// <summary>An immutable tensor shape, outermost dimension first (NCHW for images).</summary>
public sealed class Shape : IEquatable<Shape>
{
    readonly int[] dims;

    /// <summary>Creates a shape; every dimension must be positive.</summary>
    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (int d in dims)
            if (d <= 0) throw new ArgumentException($"shape [{string.Join(", ", dims)}] has a non-positive dimension");
        this.dims = (int[])dims.Clone();
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <summary>Size of dimension <paramref name="i"/> (negative counts from the end).</summary>
    public int this[int i] => dims[i < 0 ? dims.Length + i : i];

    /// <summary>Number of elements.</summary>
    public long Size
    {
        get { long s = 1; foreach (int d in dims) s *= d; return s; }
    }

    /// <summary>The dimensions as a new array.</summary>
    public int[] ToArray() => (int[])dims.Clone();

    /// <summary>This shape with a leading batch dimension.</summary>
    public Shape WithBatch(int n) => new(new[] { n }.Concat(dims).ToArray());

    /// <inheritdoc/>
    public bool Equals(Shape? other) => other is not null && dims.AsSpan().SequenceEqual(other.dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Shape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Shape equality.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Shape inequality.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    /// <summary>Formats as <c>[64, 6, 28, 28]</c>.</summary>
    public override string ToString() => "[" + string.Join(", ", dims) + "]";
}

/// <summary>A tensor, layer input or file had a shape other than the one required.</summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the exception; the message names the layer, the expected and the actual shape.</summary>
    public ShapeMismatchException(string where, string expected, string actual, string? detail = null)
        : base($"{where}: expected input {expected}, got {actual}" + (detail is null ? "" : $" ({detail})"))
    {
        Where = where;
        Expected = expected;
        Actual = actual;
    }

    /// <summary>The layer or operation that rejected the shape.</summary>
    public string Where { get; }
    /// <summary>What was expected.</summary>
    public string Expected { get; }
    /// <summary>What arrived.</summary>
    public string Actual { get; }
}

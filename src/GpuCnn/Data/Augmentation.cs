namespace GpuCnn.Data;

/// <summary>
/// A seeded pipeline of per-sample image transforms in the manner of torchvision's <c>transforms.Compose</c>, built
/// fluently: <c>new Augmentation(seed).RandomCrop(4).HorizontalFlip().Normalize(Cifar10.Mean, Cifar10.Std)</c>.
/// Transforms run in the order they were added. Every random draw comes from a counter-based hash of
/// (seed, epoch, sample index, position of the transform in the pipeline), so the output depends on nothing else:
/// not on threads, timing or the order samples are processed in, and appending a transform leaves the draws of the
/// earlier ones unchanged. Images are CHW floats; the photometric transforms expect values in [0, 1], so put
/// <see cref="Normalize"/> last. <see cref="Apply"/> is thread-safe.
/// </summary>
public sealed partial class Augmentation
{
    // Replaced, never mutated, by the builder methods, so an Apply running on another thread sees a consistent list.
    // (The builder methods themselves are not meant to be called concurrently.)
    private Op[] _ops = [];

    /// <summary>Creates an empty pipeline (the identity).</summary>
    /// <param name="seed">With the epoch and the sample index, selects every random draw.</param>
    public Augmentation(int seed) => Seed = seed;

    /// <summary>The seed.</summary>
    public int Seed { get; }

    /// <summary>Number of transforms in the pipeline.</summary>
    public int Count => _ops.Length;

    /// <summary>
    /// Pads the image with <paramref name="padding"/> zeros on each side, then crops it back to H x W at a uniformly
    /// random offset: a random translation by -padding..+padding pixels in each direction, with zeros entering
    /// from the border (torchvision <c>RandomCrop(size, padding)</c>).
    /// </summary>
    /// <param name="padding">Zero padding per side, at least 0.</param>
    /// <returns>This pipeline.</returns>
    public Augmentation RandomCrop(int padding)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        return Add(new CropOp(padding));
    }

    /// <summary>Mirrors the image left-right with probability <paramref name="p"/>.</summary>
    /// <param name="p">Probability in [0, 1].</param>
    /// <returns>This pipeline.</returns>
    public Augmentation HorizontalFlip(double p = 0.5) => Add(new FlipOp(Probability(p)));

    /// <summary>
    /// Random brightness and contrast with torchvision's <c>ColorJitter</c> semantics: each factor is uniform in
    /// [max(0, 1 - x), 1 + x]; brightness multiplies the pixels, contrast blends them with the image's mean grey
    /// level (ITU-R 601 luma for 3 channels, the plain mean otherwise), results are clamped to [0, 1], and the two
    /// adjustments run in a random order. A zero amount disables its adjustment; both zero is the identity.
    /// </summary>
    /// <param name="brightness">How much to jitter brightness, at least 0.</param>
    /// <param name="contrast">How much to jitter contrast, at least 0.</param>
    /// <returns>This pipeline.</returns>
    public Augmentation ColorJitter(float brightness = 0, float contrast = 0)
    {
        if (!(brightness >= 0 && float.IsFinite(brightness)))
            throw new ArgumentOutOfRangeException(nameof(brightness), brightness, "must be finite and at least 0");
        if (!(contrast >= 0 && float.IsFinite(contrast)))
            throw new ArgumentOutOfRangeException(nameof(contrast), contrast, "must be finite and at least 0");
        return Add(new JitterOp(brightness, contrast));
    }

    /// <summary>
    /// With probability <paramref name="p"/>, replaces every channel by the ITU-R 601 luma
    /// 0.299 R + 0.587 G + 0.114 B. A no-op on 1-channel images; other channel counts than 1 and 3 are an error.
    /// </summary>
    /// <param name="p">Probability in [0, 1].</param>
    /// <returns>This pipeline.</returns>
    public Augmentation RandomGrayscale(double p) => Add(new GrayOp(Probability(p)));

    /// <summary>Maps each channel c to (x - mean[c]) / std[c]. The arrays are copied.</summary>
    /// <param name="mean">Per-channel means, finite; the length must equal the image's channel count.</param>
    /// <param name="std">Per-channel standard deviations, finite and non-zero; same length as <paramref name="mean"/>.</param>
    /// <returns>This pipeline.</returns>
    public Augmentation Normalize(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"mean has {mean.Length} values and std {std.Length}; need the same, non-zero, count");
        if (!mean.All(float.IsFinite))
            throw new ArgumentOutOfRangeException(nameof(mean), "every mean must be finite");
        if (!std.All(s => float.IsFinite(s) && s != 0f))
            throw new ArgumentOutOfRangeException(nameof(std), "every std must be finite and non-zero");
        return Add(new NormalizeOp((float[])mean.Clone(), (float[])std.Clone()));
    }

    /// <summary>
    /// Transforms one image. The result depends only on the pipeline, the seed, <paramref name="epoch"/>,
    /// <paramref name="sampleIndex"/> and the pixels.
    /// </summary>
    /// <param name="src">The image, C x H x W values, CHW; not modified unless it is <paramref name="dst"/>.</param>
    /// <param name="dst">Receives the result, same length; may be the same memory as <paramref name="src"/>.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="epoch">Epoch number: a new epoch gives new draws.</param>
    /// <param name="sampleIndex">The sample's index in its dataset (not its position in a batch).</param>
    /// <exception cref="ArgumentException">The lengths do not match the shape, or a transform does not fit the channel count.</exception>
    public void Apply(ReadOnlySpan<float> src, Span<float> dst, int channels, int height, int width, int epoch, int sampleIndex)
    {
        Op[] ops = _ops;
        Check(ops, channels, height, width);
        long size = (long)channels * height * width;
        if (src.Length != size || dst.Length != size)
            throw new ArgumentException(
                $"a {channels}x{height}x{width} image has {size} values; got src {src.Length}, dst {dst.Length}");

        src.CopyTo(dst); // then every transform works in place
        if (ops.Length == 0)
            return;
        ulong key = Mix(Mix(Mix((ulong)(uint)Seed ^ 0xA0761D6478BD642FUL) ^ (uint)epoch) ^ (uint)sampleIndex);
        for (int i = 0; i < ops.Length; i++)
        {
            var rng = new Rng(Mix(key ^ (uint)i));
            ops[i].Run(dst, channels, height, width, ref rng);
        }
    }

    /// <summary>Lists the transforms, e.g. <c>Augmentation(seed 1: RandomCrop(4), HorizontalFlip(0.5))</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"Augmentation(seed {Seed}{(_ops.Length > 0 ? ": " : "")}{string.Join(", ", _ops.Select(o => o.ToString()))})";

    /// <summary>Throws unless every transform can run on images of this shape (the loader checks up front).</summary>
    internal void Check(int channels, int height, int width) => Check(_ops, channels, height, width);

    private static void Check(Op[] ops, int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        foreach (var op in ops)
            op.Check(channels);
    }

    private Augmentation Add(Op op)
    {
        _ops = [.. _ops, op];
        return this;
    }

    private static double Probability(double p)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, "a probability must be in [0, 1]");
        return p;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

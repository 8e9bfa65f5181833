namespace GpuCnn.Data;

/// <summary>
/// An in-memory labelled image set: <see cref="Count"/> images of shape
/// (<see cref="Channels"/>, <see cref="Height"/>, <see cref="Width"/>) stored contiguously in NCHW order,
/// with one class label each.
/// </summary>
public sealed class Dataset
{
    /// <summary>Wraps the arrays (not copied) after checking that they are consistent.</summary>
    /// <param name="name">A name for messages and logs, e.g. "mnist-train".</param>
    /// <param name="images">N*C*H*W pixel values, NCHW.</param>
    /// <param name="labels">N labels, each in 0..<paramref name="numClasses"/>-1.</param>
    /// <param name="channels">C, at least 1.</param>
    /// <param name="height">H, at least 1.</param>
    /// <param name="width">W, at least 1.</param>
    /// <param name="numClasses">Number of classes, at least 1.</param>
    /// <exception cref="ArgumentException">Sizes do not match or a label is out of range.</exception>
    public Dataset(string name, float[] images, int[] labels, int channels, int height, int width, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);

        long sampleSize = (long)channels * height * width;
        if (sampleSize > int.MaxValue)
            throw new ArgumentException($"{name}: sample size {channels}x{height}x{width} is too large");
        if ((long)labels.Length * sampleSize != images.Length)
            throw new ArgumentException(
                $"{name}: {labels.Length} labels need {labels.Length * sampleSize} image values " +
                $"({channels}x{height}x{width} each), got {images.Length}", nameof(images));
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentException(
                    $"{name}: label {labels[i]} of sample {i} is outside 0..{numClasses - 1}", nameof(labels));
        }

        Name = name;
        Images = images;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        NumClasses = numClasses;
        SampleSize = (int)sampleSize;
    }

    /// <summary>A name for messages and logs.</summary>
    public string Name { get; }

    /// <summary>All pixel values, <see cref="Count"/> x <see cref="SampleSize"/>, NCHW.</summary>
    public float[] Images { get; }

    /// <summary>One label per image, in 0..<see cref="NumClasses"/>-1.</summary>
    public int[] Labels { get; }

    /// <summary>Number of images (N).</summary>
    public int Count => Labels.Length;

    /// <summary>Channels per image (C).</summary>
    public int Channels { get; }

    /// <summary>Image height in pixels (H).</summary>
    public int Height { get; }

    /// <summary>Image width in pixels (W).</summary>
    public int Width { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Values per image, C*H*W.</summary>
    public int SampleSize { get; }

    /// <summary>Copies the images <paramref name="start"/> .. <paramref name="start"/>+<paramref name="count"/>-1.</summary>
    /// <param name="start">First image.</param>
    /// <param name="count">Number of images.</param>
    /// <returns>A new dataset sharing no arrays with this one.</returns>
    public Dataset Subset(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"{Name}: [{start}, {(long)start + count}) is outside its {Count} images");
        float[] images = Images.AsSpan(start * SampleSize, count * SampleSize).ToArray();
        int[] labels = Labels.AsSpan(start, count).ToArray();
        return new Dataset($"{Name}[{start}..{start + count})", images, labels, Channels, Height, Width, NumClasses);
    }

    /// <summary>Copies the images at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    /// <param name="indices">Image indices, each in 0..<see cref="Count"/>-1.</param>
    /// <returns>A new dataset sharing no arrays with this one.</returns>
    public Dataset Select(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if ((long)indices.Count * SampleSize > Array.MaxLength)
            throw new ArgumentException($"{Name}: {indices.Count} images do not fit in one array", nameof(indices));
        float[] images = new float[indices.Count * SampleSize];
        int[] labels = new int[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            int k = indices[i];
            if ((uint)k >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices),
                    $"{Name}: index {k} at position {i} is outside 0..{Count - 1}");
            Images.AsSpan(k * SampleSize, SampleSize).CopyTo(images.AsSpan(i * SampleSize));
            labels[i] = Labels[k];
        }
        return new Dataset($"{Name}[selection of {indices.Count}]", images, labels, Channels, Height, Width, NumClasses);
    }
}

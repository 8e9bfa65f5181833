namespace GpuCnn.Data;

/// <summary>
/// One mini-batch from a <see cref="DataLoader"/>. The arrays are always <see cref="BatchSize"/> rows long, so a
/// GPU buffer of fixed size can take every batch; when <see cref="Count"/> &lt; <see cref="BatchSize"/> (the last,
/// partial batch) the padding rows are zero images with label -1, which the loss ignores.
/// Batches are recycled by the loader: one is valid only until the enumerator's next MoveNext.
/// </summary>
public sealed class Batch
{
    internal Batch(int batchSize, int sampleSize)
    {
        BatchSize = batchSize;
        Images = new float[(long)batchSize * sampleSize];
        Labels = new int[batchSize];
    }

    /// <summary>BatchSize x (C*H*W) normalized pixel values, NCHW.</summary>
    public float[] Images { get; }

    /// <summary>BatchSize labels; -1 on padding rows.</summary>
    public int[] Labels { get; }

    /// <summary>Number of real samples in the batch (the rest is padding).</summary>
    public int Count { get; internal set; }

    /// <summary>Capacity of the batch in samples; the length of <see cref="Labels"/>.</summary>
    public int BatchSize { get; }

    /// <summary>Position of this batch within its epoch, from 0.</summary>
    public int Index { get; internal set; }
}

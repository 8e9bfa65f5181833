namespace GpuCnn.Data;

public sealed partial class DataLoader
{
    /// <summary>
    /// (index, count): this loader yields only batches index, index + count, index + 2·count, … of each epoch's
    /// order, which every shard computes alike, so shards are disjoint (data parallelism: one shard per rank). Each
    /// shard gets ⌊batches / count⌋ batches. Needs dropLast. Default (0, 1): every batch.
    /// </summary>
    public (int Index, int Count) Shard
    {
        get => _shard;
        init
        {
            if (value.Count < 1 || value.Index < 0 || value.Index >= value.Count)
                throw new ArgumentOutOfRangeException(nameof(Shard), value, "shard index must be in [0, count)");
            if (value.Count > 1 && !_dropLast) throw new ArgumentException("a sharded loader drops the last partial batch (dropLast: true)");
            _shard = value;
        }
    }

    private readonly int _batches;
    private readonly bool _dropLast;
    private readonly (int Index, int Count) _shard = (0, 1);

    // Moves this shard's batches of the epoch's order to its front, where the producer reads them in turn.
    private void TakeShard()
    {
        var (index, count) = _shard;
        for (int i = 0; count > 1 && i < BatchesPerEpoch; i++)
            Array.Copy(_order, ((long)i * count + index) * BatchSize, _order, (long)i * BatchSize, BatchSize);
    }
}

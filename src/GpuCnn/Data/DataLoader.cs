using System.Runtime.ExceptionServices;

namespace GpuCnn.Data;

/// <summary>
/// Cuts a <see cref="Dataset"/> into normalized mini-batches, optionally shuffled, filling them on a background
/// thread ahead of the consumer. Only one epoch may be enumerated at a time per loader, because the loader owns a
/// fixed pool of <c>prefetch + 1</c> batches that it recycles, so steady-state training allocates nothing per batch.
/// With an <see cref="Augmentation"/>, each sample is transformed as it is copied into its batch, optionally by
/// several threads; the result depends only on (seed, epoch, sample), never on the number of threads.
/// </summary>
public sealed partial class DataLoader : IDisposable
{
    private readonly bool _shuffle;
    private readonly int _seed;
    private readonly float _mean;
    private readonly float _std;
    private readonly Augmentation? _transform;
    private readonly int _workers;
    private readonly Batch[] _pool;
    private readonly int[] _order;

    // Everything below is guarded by _gate. The producer and the consumer hand batches back and forth
    // through _free and _ready; Monitor.Wait/PulseAll keeps that allocation-free.
    private readonly object _gate = new();
    private readonly Queue<Batch> _free;
    private readonly Queue<Batch> _ready;
    private bool _active;     // an epoch enumeration is running
    private bool _stop;       // tells the producer to quit
    private bool _disposed;
    private Exception? _error;
    private Thread? _producer;

    // The batch being filled; written by the producer before each parallel fill, read by the fill's helpers.
    private Batch? _fillBatch;
    private int _fillStart;
    private int _epoch;

    /// <summary>Creates a loader; no thread runs until an epoch is enumerated.</summary>
    /// <param name="data">The samples.</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a fresh pseudo-random order.</param>
    /// <param name="seed">Seed of the shuffle; with the epoch number it fully determines the order.</param>
    /// <param name="dropLast">Whether to drop the last batch if it would be partial.</param>
    /// <param name="mean">Subtracted from every pixel.</param>
    /// <param name="std">Every pixel is divided by it after subtracting <paramref name="mean"/>; non-zero.</param>
    /// <param name="prefetch">How many batches the producer may fill ahead of the consumer, at least 0.</param>
    public DataLoader(Dataset data, int batchSize, bool shuffle, int seed, bool dropLast,
        float mean = 0f, float std = 1f, int prefetch = 2)
        : this(data, batchSize, shuffle, seed, dropLast, mean, std, null, prefetch, 1)
    {
    }

    /// <summary>
    /// Creates a loader that passes every sample through <paramref name="transform"/>; no thread runs until an
    /// epoch is enumerated.
    /// </summary>
    /// <param name="data">The samples.</param>
    /// <param name="batchSize">Samples per batch, at least 1.</param>
    /// <param name="shuffle">Whether each epoch visits the samples in a fresh pseudo-random order.</param>
    /// <param name="seed">Seed of the shuffle; with the epoch number it fully determines the order.</param>
    /// <param name="dropLast">Whether to drop the last batch if it would be partial.</param>
    /// <param name="transform">
    /// Applied to each sample with the epoch number and the sample's index in <paramref name="data"/>; its own
    /// seed drives it. Null copies the samples as they are. It must fit the data's channel count (checked here).
    /// </param>
    /// <param name="prefetch">How many batches the producer may fill ahead of the consumer, at least 0.</param>
    /// <param name="workers">
    /// Threads that fill one batch together, at least 0; 0 means <see cref="Environment.ProcessorCount"/>, and 1
    /// fills on the producer thread alone. The batches are identical for any value.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="transform"/> does not fit the data (e.g. Normalize with the wrong channel count).</exception>
    public DataLoader(Dataset data, int batchSize, bool shuffle, int seed, bool dropLast, Augmentation? transform,
        int prefetch = 2, int workers = 0)
        : this(data, batchSize, shuffle, seed, dropLast, 0f, 1f, transform, prefetch, workers)
    {
    }

    private DataLoader(Dataset data, int batchSize, bool shuffle, int seed, bool dropLast, float mean, float std,
        Augmentation? transform, int prefetch, int workers)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        if (!float.IsFinite(mean))
            throw new ArgumentOutOfRangeException(nameof(mean), mean, "mean must be finite");
        if (!float.IsFinite(std) || std == 0f)
            throw new ArgumentOutOfRangeException(nameof(std), std, "std must be finite and non-zero");
        if ((long)batchSize * data.SampleSize > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "a batch would not fit in one array");

        Data = data;
        BatchSize = batchSize;
        _batches = dropLast ? data.Count / batchSize : (int)(((long)data.Count + batchSize - 1) / batchSize);
        _dropLast = dropLast;
        _shuffle = shuffle;
        _seed = seed;
        _mean = mean;
        _std = std;
        _transform = transform;
        transform?.Check(data.Channels, data.Height, data.Width);
        // More threads than samples in a batch would only wait.
        _workers = Math.Min(workers == 0 ? Environment.ProcessorCount : workers, batchSize);
        _order = new int[data.Count];
        _pool = new Batch[prefetch + 1];
        for (int i = 0; i < _pool.Length; i++)
            _pool[i] = new Batch(batchSize, data.SampleSize);
        _free = new Queue<Batch>(_pool.Length);
        _ready = new Queue<Batch>(_pool.Length);
    }

    /// <summary>The samples.</summary>
    public Dataset Data { get; }

    /// <summary>Samples per batch (the length of every <see cref="Batch.Labels"/>).</summary>
    public int BatchSize { get; }

    /// <summary>
    /// Batches in one epoch: Count/BatchSize, rounded up unless the last partial batch is dropped; with a
    /// <see cref="Shard"/>, this shard's share of the full batches.
    /// </summary>
    public int BatchesPerEpoch => _batches / _shard.Count;

    /// <summary>
    /// Batches of one epoch. The order depends only on (seed, <paramref name="epoch"/>), never on timing.
    /// Batches are filled on a background thread, <c>prefetch</c> ahead, so a GPU never waits on the host.
    /// Batch objects are recycled: a Batch is valid until the next MoveNext. Pixel values are (x - mean) / std,
    /// or the transform's output when the loader has one.
    /// Stopping early is fine as long as the enumerator is disposed (foreach does); that stops the producer.
    /// </summary>
    /// <param name="epoch">Epoch number; with the seed it selects the shuffle.</param>
    /// <returns>The batches, lazily; enumerating starts the producer.</returns>
    /// <exception cref="InvalidOperationException">(On enumeration) another epoch of this loader is still being enumerated.</exception>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Enumerate(epoch);
    }

    /// <summary>Stops a running producer (a consumer blocked in MoveNext gets ObjectDisposedException).</summary>
    public void Dispose()
    {
        Thread? producer;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _stop = true;
            producer = _producer;
            Monitor.PulseAll(_gate);
        }
        if (producer != null && producer != Thread.CurrentThread)
            producer.Join();
    }

    private IEnumerable<Batch> Enumerate(int epoch)
    {
        int batches = BatchesPerEpoch;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_active)
                throw new InvalidOperationException(
                    $"DataLoader({Data.Name}): an epoch is already being enumerated; finish or dispose its enumerator first");
            _active = true;
            _stop = false;
            _error = null;
            _free.Clear();
            _ready.Clear();
            foreach (var b in _pool)
                _free.Enqueue(b);
        }

        Thread? producer = null;
        Batch? current = null;
        try
        {
            FillOrder(epoch);
            TakeShard();
            _epoch = epoch;
            producer = new Thread(() => Produce(batches))
            {
                IsBackground = true,
                Name = $"GpuCnn DataLoader ({Data.Name})",
            };
            lock (_gate)
                _producer = producer;
            producer.Start();

            for (int i = 0; i < batches; i++)
            {
                lock (_gate)
                {
                    if (current != null)
                    {
                        _free.Enqueue(current);
                        current = null;
                        Monitor.PulseAll(_gate);
                    }
                    while (_ready.Count == 0 && _error == null && !_disposed)
                        Monitor.Wait(_gate);
                    if (_disposed)
                        throw new ObjectDisposedException(nameof(DataLoader), "the DataLoader was disposed during an epoch");
                    // Batches that were ready before a failure are still good: deliver them first, in order.
                    if (_ready.Count > 0)
                        current = _ready.Dequeue();
                    else
                        ExceptionDispatchInfo.Capture(_error!).Throw();
                }
                yield return current!;
            }
        }
        finally
        {
            lock (_gate)
            {
                _stop = true;
                Monitor.PulseAll(_gate);
            }
            // The producer only ever blocks in Monitor.Wait, which _stop ends, so this join is prompt.
            producer?.Join();
            lock (_gate)
            {
                _producer = null;
                _active = false;
            }
        }
    }
}

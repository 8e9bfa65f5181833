using System.Numerics;

namespace GpuCnn.Data;

// The producer side of DataLoader: filling batches, in shuffled order, on the background thread.
public sealed partial class DataLoader
{
    private void Produce(int batches)
    {
        WorkerCrew? crew = null;
        try
        {
            // Helpers live as long as this producer, so an epoch's fills allocate nothing after its start.
            if (_workers > 1)
                crew = new WorkerCrew(_workers - 1, FillRow, $"GpuCnn DataLoader ({Data.Name})");
            for (int i = 0; i < batches; i++)
            {
                Batch batch;
                lock (_gate)
                {
                    while (_free.Count == 0 && !_stop)
                        Monitor.Wait(_gate);
                    if (_stop)
                        return;
                    batch = _free.Dequeue();
                }
                Fill(batch, i, crew);
                lock (_gate)
                {
                    _ready.Enqueue(batch);
                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _error = e;
                Monitor.PulseAll(_gate);
            }
        }
        finally
        {
            crew?.Dispose();
        }
    }

    private void Fill(Batch batch, int index, WorkerCrew? crew)
    {
        int start = index * BatchSize;
        int count = Math.Min(BatchSize, Data.Count - start);
        int size = Data.SampleSize;
        int[] labels = Data.Labels;

        // Labels first, in order, so a bad one is reported the same way with any number of workers.
        for (int r = 0; r < count; r++)
        {
            int k = _order[start + r];
            int label = labels[k];
            // Dataset's arrays are public and mutable; a bad label here would index out of range in a GPU kernel.
            if ((uint)label >= (uint)Data.NumClasses)
                throw new InvalidOperationException(
                    $"{Data.Name}: label {label} of sample {k} is outside 0..{Data.NumClasses - 1}");
            batch.Labels[r] = label;
        }
        _fillBatch = batch;
        _fillStart = start;
        if (crew != null)
            crew.Run(count);
        else
            for (int r = 0; r < count; r++)
                FillRow(r);
        _fillBatch = null;
        if (count < BatchSize)
        {
            batch.Images.AsSpan(count * size).Clear();
            batch.Labels.AsSpan(count).Fill(-1);
        }
        batch.Count = count;
        batch.Index = index;
    }

    // Writes row r of the batch being filled from its sample; called by the producer or a crew helper.
    private void FillRow(int r)
    {
        int size = Data.SampleSize;
        int k = _order[_fillStart + r];
        var from = Data.Images.AsSpan(k * size, size);
        var to = _fillBatch!.Images.AsSpan(r * size, size);
        if (_transform != null)
            _transform.Apply(from, to, Data.Channels, Data.Height, Data.Width, _epoch, k);
        else if (_mean == 0f && _std == 1f)
            from.CopyTo(to);
        else
            Normalize(from, to, _mean, _std);
    }

    private static void Normalize(ReadOnlySpan<float> from, Span<float> to, float mean, float std)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && from.Length >= Vector<float>.Count)
        {
            var m = new Vector<float>(mean);
            var s = new Vector<float>(std);
            for (; i <= from.Length - Vector<float>.Count; i += Vector<float>.Count)
                ((new Vector<float>(from[i..]) - m) / s).CopyTo(to[i..]);
        }
        for (; i < from.Length; i++)
            to[i] = (from[i] - mean) / std;
    }

    // Fisher-Yates driven by SplitMix64. Not System.Random: its algorithm is not a stable contract, and the
    // order must be reproducible across runtimes and machines.
    private void FillOrder(int epoch)
    {
        for (int i = 0; i < _order.Length; i++)
            _order[i] = i;
        if (!_shuffle)
            return;
        ulong state = Mix((ulong)(uint)_seed * 0x9E3779B97F4A7C15UL ^ 0xD1B54A32D192ED03UL) ^ (ulong)(uint)epoch;
        state = Mix(state);
        for (int i = _order.Length - 1; i > 0; i--)
        {
            state += 0x9E3779B97F4A7C15UL;
            // Multiply-shift maps 64 random bits onto 0..i; its bias (< i / 2^64) is immaterial.
            int j = (int)Math.BigMul(Mix(state), (ulong)(i + 1), out _);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;

namespace GpuCnn.Distributed;

/// <summary>One contiguous range of a device's flat gradient buffer that is summed across ranks in one call.</summary>
/// <param name="Slice">Index of the device slice in <see cref="ParameterStore.Slices"/>.</param>
/// <param name="Start">First element.</param>
/// <param name="Length">Number of elements.</param>
/// <param name="Parameters">How many parameters overlap it: the bucket is ready when that many have their gradients.</param>
public sealed record GradientBucket(int Slice, long Start, long Length, int Parameters);

/// <summary>
/// The buckets of a <see cref="ParameterStore"/>'s trainable gradients (buffers such as BatchNorm's running
/// statistics stay per rank). Each device slice's range [0, TrainableLength) is cut at parameter boundaries into
/// buckets of at least <c>bucketElements</c>, and also where the weights end and the biases begin, so the last
/// layers' weights (whose gradients come first) are not held back by the first layer's bias. Pure: every rank
/// computes the same buckets from the same store.
/// </summary>
public sealed class GradientBuckets
{
    readonly Dictionary<Parameter, int> bucketOf = new();

    /// <summary>Cuts the store's gradients into buckets.</summary>
    public GradientBuckets(ParameterStore store, long bucketElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketElements, 1);
        var buckets = new List<GradientBucket>();
        for (int s = 0; s < store.Slices.Count; s++)
        {
            var slice = store.Slices[s];
            var entries = slice.Entries.Where(e => e.Offset < slice.TrainableLength).OrderBy(e => e.Offset).ToList();
            int i = 0;
            while (i < entries.Count)
            {
                long start = entries[i].Offset, end = start;
                var members = new List<Parameter>();
                do
                {
                    members.Add(entries[i].Parameter);
                    end = entries[i].Offset + entries[i].Parameter.Shape.Size;
                    i++;
                } while (i < entries.Count && end - start < bucketElements
                         && (entries[i].Offset < slice.DecayedLength) == (start < slice.DecayedLength));
                foreach (var p in members) bucketOf[p] = buckets.Count;
                buckets.Add(new GradientBucket(s, start, end - start, members.Count));
            }
        }
        Buckets = buckets;
    }

    /// <summary>The buckets, by slice and offset.</summary>
    public IReadOnlyList<GradientBucket> Buckets { get; }

    /// <summary>The bucket that holds <paramref name="p"/>'s gradient, or −1 for a buffer or a foreign parameter.</summary>
    public int BucketOf(Parameter p) => bucketOf.TryGetValue(p, out int b) ? b : -1;

    /// <summary>Trainable elements summed per step.</summary>
    public long Elements => Buckets.Sum(b => b.Length);
}

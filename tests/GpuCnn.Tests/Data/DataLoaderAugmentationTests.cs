using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests.Data;

public class DataLoaderAugmentationTests
{
    private const int C = 3, H = 8, W = 8, Size = C * H * W;

    private static Dataset Data(int n) => SyntheticData.Create(n, C, H, W, 10, seed: 4);

    private static Augmentation Transform() =>
        new Augmentation(21).RandomCrop(2).HorizontalFlip().ColorJitter(0.3f, 0.3f).Normalize([0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]);

    // Every batch of an epoch as one array: images, then labels and count (batches are recycled, so copy).
    private static List<float[]> Epoch(DataLoader loader, int epoch) =>
        loader.Epoch(epoch).Select(b => b.Images.Concat(b.Labels.Select(l => (float)l)).Append(b.Count).ToArray()).ToList();

    [Fact]
    public void BatchesAreIdenticalForAnyNumberOfWorkers()
    {
        var data = Data(150);
        var transform = Transform();
        using var one = new DataLoader(data, 16, shuffle: true, seed: 3, dropLast: false, transform, workers: 1);
        using var four = new DataLoader(data, 16, shuffle: true, seed: 3, dropLast: false, transform, prefetch: 1, workers: 4);
        using var all = new DataLoader(data, 16, shuffle: true, seed: 3, dropLast: false, transform);

        for (int epoch = 0; epoch < 2; epoch++)
        {
            var expected = Epoch(one, epoch);
            Assert.Equal(10, expected.Count);
            Assert.Equal(expected, Epoch(four, epoch));
            Assert.Equal(expected, Epoch(all, epoch));
        }
        Assert.NotEqual(Epoch(one, 0), Epoch(one, 1));
    }

    [Fact]
    public void EachSampleIsTransformedWithItsEpochAndDatasetIndex()
    {
        var data = Data(37);
        var transform = Transform();
        // A loader without transform and the same seed yields the same order; its rows tell which sample is where.
        using var plain = new DataLoader(data, 8, shuffle: true, seed: 5, dropLast: false, transform: null);
        using var loader = new DataLoader(data, 8, shuffle: true, seed: 5, dropLast: false, transform, workers: 3);
        var expected = new float[Size];
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var order = new List<int>();
            foreach (var b in plain.Epoch(epoch))
                for (int r = 0; r < b.Count; r++)
                {
                    int k = Enumerable.Range(0, data.Count).Single(i =>
                        data.Images.AsSpan(i * Size, Size).SequenceEqual(b.Images.AsSpan(r * Size, Size)));
                    order.Add(k);
                }
            int n = 0;
            foreach (var b in loader.Epoch(epoch))
            {
                for (int r = 0; r < b.Count; r++, n++)
                {
                    int k = order[n];
                    transform.Apply(data.Images.AsSpan(k * Size, Size), expected, C, H, W, epoch, k);
                    Assert.Equal(expected, b.Images.AsSpan(r * Size, Size).ToArray());
                    Assert.Equal(data.Labels[k], b.Labels[r]);
                    Assert.False(b.Images.AsSpan(r * Size, Size).SequenceEqual(data.Images.AsSpan(k * Size, Size)));
                }
                Assert.All(b.Labels[b.Count..], l => Assert.Equal(-1, l));
                Assert.All(b.Images[(b.Count * Size)..], v => Assert.Equal(0f, v));
            }
            Assert.Equal(37, n);
        }
    }

    [Fact]
    public void NullTransformCopiesSamplesAsTheyAre()
    {
        var data = Data(20);
        using var loader = new DataLoader(data, 6, shuffle: false, seed: 0, dropLast: false, transform: null, workers: 4);
        foreach (var b in loader.Epoch(0))
            for (int r = 0; r < b.Count; r++)
                Assert.Equal(data.Images.AsSpan((b.Index * 6 + r) * Size, Size), b.Images.AsSpan(r * Size, Size));
    }

    [Fact]
    public void ATransformThatDoesNotFitIsRejectedUpFront()
    {
        var data = Data(10);
        var wrong = new Augmentation(0).Normalize([0.5f], [0.5f]);
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(data, 4, false, 0, false, wrong));
        Assert.Contains("1 mean/std values, the images have 3 channels", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, 4, false, 0, false, null, workers: -1));
    }

    [Fact]
    public async Task AWorkerErrorSurfacesAndTheLoaderStopsCleanly()
    {
        var data = Data(100);
        var transform = new Augmentation(0).RandomCrop(1);
        var loader = new DataLoader(data, 10, shuffle: false, seed: 0, dropLast: false, transform, prefetch: 1, workers: 4);
        // Appended after the loader's up-front check, so it fails inside the parallel fill.
        transform.Normalize([0f], [1f]);
        var run = Task.Run(() =>
        {
            var e = Assert.Throws<ArgumentException>(() => loader.Epoch(0).ToList());
            Assert.Contains("Normalize has 1 mean/std values", e.Message);
            loader.Dispose();
        });
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task BreakingEarlyWithWorkersIsPrompt()
    {
        var loader = new DataLoader(Data(500), 10, shuffle: true, seed: 0, dropLast: false, Transform(), prefetch: 2, workers: 4);
        var run = Task.Run(() =>
        {
            foreach (var b in loader.Epoch(0))
                if (b.Index == 2)
                    break;
            Assert.Equal(50, loader.Epoch(1).Count());
            loader.Dispose();
        });
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

using System.Diagnostics;
using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests.Data;

public class SyntheticDataTests
{
    [Fact]
    public void ShapeNameAndRange()
    {
        var d = SyntheticData.Create(23, 2, 5, 7, 4, seed: 1, name: "tiny");
        Assert.Equal(("tiny", 23, 2, 5, 7, 4, 70), (d.Name, d.Count, d.Channels, d.Height, d.Width, d.NumClasses, d.SampleSize));
        Assert.Equal(23 * 70, d.Images.Length);
        Assert.All(d.Images, v => Assert.InRange(v, 0f, 1f));
        Assert.Equal("synthetic", SyntheticData.Create(1, 1, 1, 1, 1, seed: 0).Name);
        Assert.Empty(SyntheticData.Create(0, 3, 8, 8, 10, seed: 0).Labels);
    }

    [Fact]
    public void DeterministicPerSeedAndDifferentAcrossSeeds()
    {
        var a = SyntheticData.Create(50, 3, 8, 8, 10, seed: 5);
        var b = SyntheticData.Create(50, 3, 8, 8, 10, seed: 5);
        var c = SyntheticData.Create(50, 3, 8, 8, 10, seed: 6);
        Assert.Equal(a.Images, b.Images);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Images, c.Images);
        Assert.NotEqual(a.Labels, c.Labels);
    }

    [Fact]
    public void LabelsAreBalancedAndShuffled()
    {
        var d = SyntheticData.Create(103, 1, 4, 4, 10, seed: 3);
        var counts = Enumerable.Range(0, 10).Select(k => d.Labels.Count(l => l == k)).ToArray();
        Assert.Equal([11, 11, 11, 10, 10, 10, 10, 10, 10, 10], counts); // i % 10 over 103 samples
        Assert.NotEqual(Enumerable.Range(0, 103).Select(i => i % 10), d.Labels);
    }

    [Fact]
    public void ClassesAreSeparableByNearestClassMean()
    {
        // Class means from the first half, nearest-mean classification of the second half.
        const int N = 600, C = 3, H = 12, W = 12, K = 10, S = C * H * W;
        var d = SyntheticData.Create(N, C, H, W, K, seed: 11);
        var means = new double[K, S];
        var counts = new int[K];
        for (int i = 0; i < N / 2; i++)
        {
            counts[d.Labels[i]]++;
            for (int p = 0; p < S; p++)
                means[d.Labels[i], p] += d.Images[i * S + p];
        }
        int correct = 0;
        for (int i = N / 2; i < N; i++)
        {
            int best = -1;
            double bestDistance = double.MaxValue;
            for (int k = 0; k < K; k++)
            {
                double distance = 0;
                for (int p = 0; p < S; p++)
                {
                    double diff = d.Images[i * S + p] - means[k, p] / counts[k];
                    distance += diff * diff;
                }
                if (distance < bestDistance)
                    (best, bestDistance) = (k, distance);
            }
            correct += best == d.Labels[i] ? 1 : 0;
        }
        Assert.True(correct > 0.9 * (N / 2), $"{correct} of {N / 2} correct");
    }

    [Fact]
    public void SamplesAreNoisyCopiesNotDuplicates()
    {
        var d = SyntheticData.Create(20, 3, 8, 8, 2, seed: 2);
        int first = Array.IndexOf(d.Labels, 0), second = Array.IndexOf(d.Labels, 0, first + 1);
        var a = d.Images.AsSpan(first * 192, 192).ToArray();
        var b = d.Images.AsSpan(second * 192, 192).ToArray();
        Assert.NotEqual(a, b);
        Assert.True(a.Zip(b).Max(t => Math.Abs(t.First - t.Second)) < 0.2f); // same prototype, small noise
    }

    [Fact]
    public void LargeImagesAreFast()
    {
        SyntheticData.Create(2, 3, 224, 224, 10, seed: 0); // JIT warm-up
        var sw = Stopwatch.StartNew();
        var d = SyntheticData.Create(64, 3, 224, 224, 1000, seed: 0);
        sw.Stop();
        Assert.Equal(64 * 3 * 224 * 224, d.Images.Length);
        // A generous bound: it catches a quadratic or per-pixel-allocating generator, not a slow machine or a Debug build.
        Assert.True(sw.ElapsedMilliseconds < 3000, $"took {sw.ElapsedMilliseconds} ms");
    }
}

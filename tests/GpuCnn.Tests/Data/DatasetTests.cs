using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests.Data;

public class DatasetTests
{
    // 5 samples of 1x2x3; pixel j of sample i is 10*i + j, label i % 3.
    private static Dataset Make() => new(
        "d",
        Enumerable.Range(0, 30).Select(v => (float)(10 * (v / 6) + v % 6)).ToArray(),
        [0, 1, 2, 0, 1], 1, 2, 3, 3);

    [Fact]
    public void ReportsShape()
    {
        var d = Make();
        Assert.Equal((5, 1, 2, 3, 6, 3), (d.Count, d.Channels, d.Height, d.Width, d.SampleSize, d.NumClasses));
    }

    [Fact]
    public void ConstructorValidates()
    {
        Assert.Throws<ArgumentException>(() => new Dataset("d", new float[29], new int[5], 1, 2, 3, 3));
        Assert.Throws<ArgumentException>(() => new Dataset("d", new float[6], [3], 1, 2, 3, 3));
        Assert.Throws<ArgumentException>(() => new Dataset("d", new float[6], [-1], 1, 2, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset("d", [], [], 0, 2, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset("d", [], [], 1, 2, 3, 0));
    }

    [Fact]
    public void SubsetCopies()
    {
        var d = Make();
        var s = d.Subset(1, 3);
        Assert.Equal(3, s.Count);
        Assert.Equal([1, 2, 0], s.Labels);
        Assert.Equal(10f, s.Images[0]);
        Assert.Equal(35f, s.Images[^1]);
        s.Images[0] = -1;
        Assert.Equal(10f, d.Images[6]);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Subset(3, 3));
        Assert.Equal(0, d.Subset(5, 0).Count);
    }

    [Fact]
    public void SelectCopiesInGivenOrder()
    {
        var d = Make();
        var s = d.Select([4, 0, 4]);
        Assert.Equal([1, 0, 1], s.Labels);
        Assert.Equal([40f, 41, 42, 43, 44, 45], s.Images[..6]);
        Assert.Equal(0f, s.Images[6]);
        s.Images[0] = -1;
        Assert.Equal(40f, d.Images[24]);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Select([5]));
    }
}

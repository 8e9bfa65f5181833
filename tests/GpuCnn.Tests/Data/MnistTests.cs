using System.Security.Cryptography;
using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests.Data;

/// <summary>Decodes the bundled digits once for all tests of the class.</summary>
public sealed class BundledMnistFixture
{
    public BundledMnistFixture() => (Train, Test) = Mnist.LoadBundled();

    public Dataset Train { get; }

    public Dataset Test { get; }
}

public class MnistTests(BundledMnistFixture bundled) : IClassFixture<BundledMnistFixture>
{
    // Per-class counts of the split made by data/mnist/convert.mjs (see data/mnist/README.md).
    private static readonly int[] TrainPerClass = [801, 902, 793, 826, 784, 690, 811, 856, 755, 782];
    private static readonly int[] TestPerClass = [200, 225, 198, 206, 196, 173, 203, 214, 189, 196];

    [Fact]
    public void BundledHasTheExpectedShapeAndSplit()
    {
        foreach (var (d, n, perClass) in new[] { (bundled.Train, 8000, TrainPerClass), (bundled.Test, 2000, TestPerClass) })
        {
            Assert.Equal(n, d.Count);
            Assert.Equal((1, 28, 28, 784, 10), (d.Channels, d.Height, d.Width, d.SampleSize, d.NumClasses));
            Assert.Equal(n * 784, d.Images.Length);
            Assert.Equal(perClass, Enumerable.Range(0, 10).Select(c => d.Labels.Count(l => l == c)));
        }
        for (int c = 0; c < 10; c++)
        {
            // Class-balanced: each class's test share is within one digit of 20 %.
            double exact = (TrainPerClass[c] + TestPerClass[c]) * 0.2;
            Assert.InRange(TestPerClass[c], exact - 1, exact + 1);
        }
    }

    [Fact]
    public void BundledPixelsAreMultiplesOf1Over255InUnitRange()
    {
        foreach (var d in new[] { bundled.Train, bundled.Test })
        {
            // One assert per data set, not per pixel: 7.8 M xunit asserts would take most of a second.
            int bad = d.Images.Count(v => !(v >= 0f && v <= 1f && MathF.Round(v * 255) / 255f == v));
            Assert.Equal(0, bad);
            // Real digits, not blank: on average about a fifth of MNIST pixels are ink.
            Assert.InRange(d.Images.Average(), 0.08, 0.2);
        }
    }

    [Fact]
    public void BundledTrainAndTestAreDisjointAndShuffled()
    {
        static string Hash(Dataset d, int i) => Convert.ToHexString(SHA256.HashData(
            d.Images.AsSpan(i * 784, 784).ToArray().Select(v => (byte)MathF.Round(v * 255)).ToArray()));

        var train = Enumerable.Range(0, bundled.Train.Count).Select(i => Hash(bundled.Train, i)).ToHashSet();
        var test = Enumerable.Range(0, bundled.Test.Count).Select(i => Hash(bundled.Test, i)).ToHashSet();
        Assert.Equal(8000, train.Count);
        Assert.Equal(2000, test.Count);
        Assert.Empty(train.Intersect(test));

        // Classes are interleaved, not in blocks.
        Assert.Equal(10, bundled.Train.Labels.Take(100).Distinct().Count());
        Assert.Equal(10, bundled.Test.Labels.Take(100).Distinct().Count());
    }

    [Fact]
    public void StandardFileNamesAreTheOfficialOnes()
    {
        Assert.Equal(
            ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
            Mnist.StandardFileNames);
    }

    // Writes n images of rows x cols (pixel = (i + p) % 256) and labels i % 10.
    private static void WriteSet(string imagesPath, string labelsPath, int n, int rows, int cols, bool gzip, int labelCount = -1)
    {
        var pixels = new byte[n * rows * cols];
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = (byte)(i / (rows * cols) + i % (rows * cols));
        Idx.Write(imagesPath, new IdxArray([n, rows, cols], pixels), gzip);
        labelCount = labelCount < 0 ? n : labelCount;
        Idx.Write(labelsPath, new IdxArray([labelCount], Enumerable.Range(0, labelCount).Select(i => (byte)(i % 10)).ToArray()), gzip);
    }

    [Fact]
    public void LoadDirectoryReadsRawAndGzipMixed()
    {
        using var dir = new TempDir();
        WriteSet(dir.File("train-images-idx3-ubyte.gz"), dir.File("train-labels-idx1-ubyte"), 12, 28, 28, gzip: true);
        // Names decide nothing: the raw labels file above is in fact gzip'd; here the .gz one is raw.
        WriteSet(dir.File("t10k-images-idx3-ubyte"), dir.File("t10k-labels-idx1-ubyte.gz"), 5, 4, 3, gzip: false);

        var (train, test) = Mnist.LoadDirectory(dir.Path);

        Assert.Equal((12, 28, 28, 1, 10), (train.Count, train.Height, train.Width, train.Channels, train.NumClasses));
        Assert.Equal((5, 4, 3), (test.Count, test.Height, test.Width));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => i % 10), train.Labels);
        Assert.Equal(3 / 255f, train.Images[784 * 2 + 1]);
        Assert.Equal(4 / 255f, test.Images[12 * 1 + 3]);
    }

    [Fact]
    public void LoadDirectoryListsMissingFiles()
    {
        using var dir = new TempDir();
        WriteSet(dir.File("train-images-idx3-ubyte"), dir.File("train-labels-idx1-ubyte"), 2, 28, 28, gzip: false);
        File.WriteAllBytes(dir.File("t10k-images-idx3-ubyte.gz"), []);

        var e = Assert.Throws<FileNotFoundException>(() => Mnist.LoadDirectory(dir.Path));

        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("missing MNIST file(s) t10k-labels-idx1-ubyte;", e.Message);
        foreach (string name in Mnist.StandardFileNames)
            Assert.Contains(name, e.Message);
        Assert.Equal(dir.File("t10k-labels-idx1-ubyte"), e.FileName);

        var none = Assert.Throws<FileNotFoundException>(() => Mnist.LoadDirectory(dir.File("nope")));
        Assert.Contains("does not exist", none.Message);
    }

    [Fact]
    public void LoadChecksThatLabelsMatchImages()
    {
        using var dir = new TempDir();
        string images = dir.File("i"), labels = dir.File("l");
        WriteSet(images, labels, 5, 28, 28, gzip: true, labelCount: 4);

        var e = Assert.Throws<DataFormatException>(() => Mnist.Load(images, labels, "x"));

        Assert.Equal($"{labels}: 4 labels but {images} has 5 images", e.Message);
    }

    [Fact]
    public void LoadRejectsBadLabelsAndShapes()
    {
        using var dir = new TempDir();
        string images = dir.File("i"), labels = dir.File("l");
        WriteSet(images, labels, 2, 28, 28, gzip: false);
        Idx.Write(labels, new IdxArray([2], [3, 10]), gzip: false);
        var e = Assert.Throws<DataFormatException>(() => Mnist.Load(images, labels, "x"));
        Assert.Equal($"{labels}: label 10 at index 1 is outside 0..9", e.Message);

        Idx.Write(images, new IdxArray([2, 784], new byte[2 * 784]), gzip: false);
        e = Assert.Throws<DataFormatException>(() => Mnist.Load(images, labels, "x"));
        Assert.StartsWith($"{images}: expected a 3-D image array", e.Message);

        // Swapped arguments are caught too: labels are not 3-D.
        e = Assert.Throws<DataFormatException>(() => Mnist.Load(labels, images, "x"));
        Assert.StartsWith($"{labels}: expected a 3-D image array", e.Message);
    }
}

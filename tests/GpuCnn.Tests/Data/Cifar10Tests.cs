using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests.Data;

public class Cifar10Tests
{
    private const int Pixels = 3 * 32 * 32;
    private const int Record = 1 + Pixels;

    // n samples whose pixels are multiples of 1/255 (so they round-trip exactly), distinct per sample and first
    // label `firstLabel`, then counting up mod 10.
    private static Dataset Make(int n, int salt, int firstLabel = 0, string name = "gen")
    {
        var images = new float[n * Pixels];
        for (int i = 0; i < images.Length; i++)
            images[i] = (byte)(i * 7 + salt * 31 + i / Pixels * 13) / 255f;
        var labels = Enumerable.Range(0, n).Select(i => (firstLabel + i) % 10).ToArray();
        return new Dataset(name, images, labels, 3, 32, 32, 10);
    }

    [Fact]
    public void WriteBatchRoundTripsBitExactly()
    {
        using var dir = new TempDir();
        var data = Make(7, salt: 1, firstLabel: 3);
        string path = dir.File("data_batch_1.bin");

        Cifar10.WriteBatch(path, data);
        Assert.Equal(7 * Record, new FileInfo(path).Length);
        var back = Cifar10.LoadBatch(path);

        Assert.Equal("data_batch_1", back.Name);
        Assert.Equal((7, 3, 32, 32, 10), (back.Count, back.Channels, back.Height, back.Width, back.NumClasses));
        Assert.Equal(data.Labels, back.Labels);
        Assert.Equal(data.Images, back.Images); // float equality: bit-exact for these values

        // The bytes on disk are label, then the pixels as written.
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(4, bytes[Record]); // label of record 1
        Assert.Equal((byte)MathF.Round(data.Images[Pixels + 5] * 255), bytes[Record + 1 + 5]);
    }

    [Fact]
    public void PlanesAreRedGreenBlueInThatOrder()
    {
        using var dir = new TempDir();
        var record = new byte[Record];
        record[0] = 9;
        record.AsSpan(1, 1024).Fill(255); // R plane all 255, G and B 0
        record[1 + 1024 + 33] = 51;       // G at row 1, column 1
        string path = dir.Write("one.bin", record);

        var d = Cifar10.LoadBatch(path);

        Assert.Equal([9], d.Labels);
        Assert.All(d.Images[..1024], v => Assert.Equal(1f, v));
        Assert.Equal(0.2f, d.Images[1024 + 1 * 32 + 1]);
        Assert.Equal(1, d.Images[1024..].Count(v => v != 0));
    }

    public static TheoryData<string, byte[], string> BadFiles() => new()
    {
        { "empty.bin", [], "empty file" },
        { "short.bin", new byte[Record - 1], $"length {Record - 1} is not a multiple of {Record}" },
        { "long.bin", new byte[2 * Record + 5], $"length {2 * Record + 5} is not a multiple of {Record}" },
        { "cifar100.bin", new byte[Record + 1], "CIFAR-100" },
        { "label.bin", Records(3, (2, 10)), "label 10 of record 2 is outside 0..9" },
        { "label255.bin", Records(1, (0, 255)), "label 255 of record 0 is outside 0..9" },
    };

    private static byte[] Records(int n, (int Index, byte Label) bad)
    {
        var bytes = new byte[n * Record];
        bytes[bad.Index * Record] = bad.Label;
        return bytes;
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadFilesGiveDataFormatExceptionNamingTheFile(string name, byte[] bytes, string problem)
    {
        using var dir = new TempDir();
        string path = dir.Write(name, bytes);

        var e = Assert.Throws<DataFormatException>(() => Cifar10.LoadBatch(path));

        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Problem);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoadDirectoryConcatenatesTrainBatchesInOrder(bool nested)
    {
        using var dir = new TempDir();
        string root = nested ? Directory.CreateDirectory(dir.File("cifar-10-batches-bin")).FullName : dir.Path;
        var b1 = Make(3, salt: 1, firstLabel: 0);
        var b3 = Make(2, salt: 3, firstLabel: 5); // batch 2 absent: those present are used, in order
        var test = Make(4, salt: 9, firstLabel: 7);
        // Written out of order, so the order cannot come from the directory listing.
        Cifar10.WriteBatch(Path.Combine(root, "test_batch.bin"), test);
        Cifar10.WriteBatch(Path.Combine(root, "data_batch_3.bin"), b3);
        Cifar10.WriteBatch(Path.Combine(root, "data_batch_1.bin"), b1);

        var (train, testSet) = Cifar10.LoadDirectory(dir.Path);

        Assert.Equal("cifar10-train", train.Name);
        Assert.Equal("cifar10-test", testSet.Name);
        Assert.Equal(b1.Labels.Concat(b3.Labels), train.Labels);
        Assert.Equal(b1.Images.Concat(b3.Images), train.Images);
        Assert.Equal(test.Labels, testSet.Labels);
        Assert.Equal(test.Images, testSet.Images);
        Assert.Equal((3, 32, 32, 10), (train.Channels, train.Height, train.Width, train.NumClasses));
    }

    [Fact]
    public void LoadDirectoryNamesTheMissingFiles()
    {
        using var dir = new TempDir();
        Cifar10.WriteBatch(dir.File("data_batch_1.bin"), Make(1, salt: 0));

        var e = Assert.Throws<FileNotFoundException>(() => Cifar10.LoadDirectory(dir.Path));

        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("missing CIFAR-10 file(s) test_batch.bin;", e.Message);
        Assert.Contains("data_batch_1.bin .. data_batch_5.bin (at least one) and test_batch.bin", e.Message);
        Assert.Contains("cifar-10-batches-bin", e.Message);
        Assert.Equal(dir.File("test_batch.bin"), e.FileName);

        File.Delete(dir.File("data_batch_1.bin"));
        Cifar10.WriteBatch(dir.File("test_batch.bin"), Make(1, salt: 0));
        e = Assert.Throws<FileNotFoundException>(() => Cifar10.LoadDirectory(dir.Path));
        Assert.Contains("missing CIFAR-10 file(s) data_batch_1.bin .. data_batch_5.bin (none found);", e.Message);

        e = Assert.Throws<FileNotFoundException>(() => Cifar10.LoadDirectory(dir.File("nope")));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void LoadDirectoryReportsABadBatchByItsPath()
    {
        using var dir = new TempDir();
        Cifar10.WriteBatch(dir.File("data_batch_1.bin"), Make(2, salt: 0));
        dir.Write("data_batch_2.bin", new byte[Record + 3]);
        Cifar10.WriteBatch(dir.File("test_batch.bin"), Make(1, salt: 0));

        var e = Assert.Throws<DataFormatException>(() => Cifar10.LoadDirectory(dir.Path));

        Assert.Equal(dir.File("data_batch_2.bin"), e.FilePath);
    }

    [Fact]
    public void WriteBatchRejectsWhatTheFormatCannotHold()
    {
        using var dir = new TempDir();
        var gray = new Dataset("g", new float[32 * 32], [0], 1, 32, 32, 10);
        Assert.Throws<ArgumentException>(() => Cifar10.WriteBatch(dir.File("x"), gray));
        var eleven = new Dataset("e", new float[Pixels], [10], 3, 32, 32, 11);
        Assert.Contains("label 10 of sample 0", Assert.Throws<ArgumentException>(() => Cifar10.WriteBatch(dir.File("x"), eleven)).Message);
    }

    [Fact]
    public void ConstantsAreTheUsualOnes()
    {
        Assert.Equal(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"], Cifar10.ClassNames);
        Assert.Equal([0.4914f, 0.4822f, 0.4465f], Cifar10.Mean);
        Assert.Equal([0.2470f, 0.2435f, 0.2616f], Cifar10.Std);
    }
}

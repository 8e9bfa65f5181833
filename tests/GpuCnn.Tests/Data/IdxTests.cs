using System.IO.Compression;
using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests.Data;

public class IdxTests
{
    // A valid unsigned-byte IDX header for the given dims.
    private static byte[] Header(byte type, params int[] dims)
    {
        var h = new byte[4 + 4 * dims.Length];
        h[2] = type;
        h[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4 + 4 * i), dims[i]);
        return h;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Gzip(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest))
            gz.Write(raw);
        return ms.ToArray();
    }

    private static byte[] Seq(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7)).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteThenReadRoundTrips(bool gzip)
    {
        using var dir = new TempDir();
        var a = new IdxArray([3, 4, 5], Seq(60));
        // Detection must go by content: give the gzip'd file no .gz and the raw one a .gz name.
        string path = dir.File(gzip ? "a.idx" : "a.idx.gz");
        Idx.Write(path, a, gzip);

        Assert.Equal(gzip, File.ReadAllBytes(path).AsSpan(0, 2).SequenceEqual(new byte[] { 0x1F, 0x8B }));
        var b = Idx.Read(path);
        Assert.Equal(a.Dims, b.Dims);
        Assert.Equal(a.Data, b.Data);
    }

    [Fact]
    public void WritesTheStandardHeader()
    {
        using var dir = new TempDir();
        string path = dir.File("l");
        Idx.Write(path, new IdxArray([3], [7, 8, 9]), gzip: false);
        Assert.Equal(Concat(Header(0x08, 3), [7, 8, 9]), File.ReadAllBytes(path));
    }

    [Fact]
    public void ReadsGzipFromUnseekableStream()
    {
        byte[] gz = Gzip(Concat(Header(0x08, 2, 2), [1, 2, 3, 4]));
        using var s = new UnseekableStream(gz);
        var a = Idx.Read(s, "mem");
        Assert.Equal([2, 2], a.Dims);
        Assert.Equal([1, 2, 3, 4], a.Data);
    }

    [Fact]
    public void ZeroCountWithNoDataIsAllowed()
    {
        using var dir = new TempDir();
        var a = Idx.Read(dir.Write("empty", Header(0x08, 0, 28, 28)));
        Assert.Equal([0, 28, 28], a.Dims);
        Assert.Empty(a.Data);
    }

    public static TheoryData<string, byte[], string> BadFiles() => new()
    {
        { "empty", [], "shorter than the IDX header" },
        { "short", [0, 0, 8], "shorter than the IDX header" },
        { "magic", Concat([1, 0, 8, 1], [0, 0, 0, 1], [5]), "wrong magic" },
        { "text", "hello world\n"u8.ToArray(), "wrong magic" },
        { "float", Concat(Header(0x0D, 1), [0, 0, 0, 0]), "unsupported IDX type code 0x0D (float32)" },
        { "rank0", [0, 0, 8, 0], "0 dimensions" },
        { "dims", Concat(Header(0x08, 10, 10).AsSpan(0, 9).ToArray()), "shorter than the IDX header: 2 dimensions need 8 bytes, found 5" },
        { "huge", Header(0x08, 65536, 65536), "exceed the maximum" },
        { "neg", Concat([0, 0, 8, 1], [0x80, 0, 0, 0]), "absurd" },
        { "trunc", Concat(Header(0x08, 3, 4), Seq(5)), "truncated: expected 12 bytes of data, found 5" },
        { "trail", Concat(Header(0x08, 3), Seq(3), [1, 2]), "trailing garbage: 2 bytes" },
        { "zero-trail", Concat(Header(0x08, 0, 4), [1]), "trailing garbage: 1 bytes" },
        { "gz-trunc", Gzip(Concat(Header(0x08, 100), Seq(100)))[..30], "truncated: expected 100 bytes of data, found" },
        { "gz-trunc-data", Gzip(Concat(Header(0x08, 100), Seq(50))), "truncated: expected 100 bytes of data, found 50" },
        { "gz-bad-magic", Gzip([1, 2, 3, 4, 5, 6]), "wrong magic" },
        { "gz-corrupt", CorruptGzip(), "corrupt gzip stream" },
        { "gz-trailing", Concat(Gzip(Concat(Header(0x08, 3), Seq(3))), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]), "trailing garbage after it" },
        { "gz-trunc-trailer", Gzip(Concat(Header(0x08, 3), Seq(3)))[..^2], "gzip" },
        { "gz-crc", FlipLastByteButFour(Gzip(Concat(Header(0x08, 3), Seq(3)))), "gzip" },
    };

    // Breaks the stored CRC-32, which zlib checks.
    private static byte[] FlipLastByteButFour(byte[] gz)
    {
        gz[^5] ^= 0x01;
        return gz;
    }

    // BFINAL=1, BTYPE=11 (reserved) in the first deflate block header: zlib must reject it.
    private static byte[] CorruptGzip()
    {
        byte[] gz = Gzip(Concat(Header(0x08, 100), Seq(100)));
        gz[10] = 0xFF;
        return gz;
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadFilesGiveDataFormatExceptionNamingFileAndProblem(string name, byte[] bytes, string problem)
    {
        using var dir = new TempDir();
        string path = dir.Write(name, bytes);

        var e = Assert.Throws<DataFormatException>(() => Idx.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Contains(problem, e.Problem);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ReadFromStreamUsesTheGivenName()
    {
        using var s = new MemoryStream([0, 0, 9, 1, 0, 0, 0, 0]);
        var e = Assert.Throws<DataFormatException>(() => Idx.Read(s, "resource X"));
        Assert.Equal("resource X: unsupported IDX type code 0x09 (signed byte); only 0x08 (unsigned byte) is supported", e.Message);
    }

    [Fact]
    public void IdxArrayRejectsMismatchedShape()
    {
        Assert.Throws<ArgumentException>(() => new IdxArray([2, 3], new byte[5]));
        Assert.Throws<ArgumentException>(() => new IdxArray([], []));
        Assert.Throws<ArgumentException>(() => new IdxArray([-1], []));
    }

    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}

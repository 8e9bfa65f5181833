using System.Buffers.Binary;
using System.IO.Compression;

namespace GpuCnn.Data;

/// <summary>
/// Reads and writes IDX files, raw or gzip'd. Reading is defensive: any malformed input gives a
/// <see cref="DataFormatException"/> naming the file, never a hang, a huge allocation or an index error.
/// </summary>
public static class Idx
{
    private const byte UnsignedByteType = 0x08;

    // Larger arrays cannot be held in one byte[]; also bounds what a bad header can make us allocate up front.
    private static readonly long MaxElements = Array.MaxLength;

    // Without a known length (gzip), the data buffer grows from this size, so a lying header in a
    // tiny file costs at most this much before the truncation is found.
    private const int InitialUnknownCapacity = 16 << 20;

    /// <summary>Reads an IDX file; gzip is detected by its magic bytes (1F 8B), not by the file extension.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The array.</returns>
    /// <exception cref="DataFormatException">The file is not a valid unsigned-byte IDX file.</exception>
    public static IdxArray Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads an IDX array from a stream (raw or gzip'd), which is left open.</summary>
    /// <param name="s">The stream, positioned at the start of the IDX data; need not be seekable.</param>
    /// <param name="nameForErrors">The file or resource name used in error messages.</param>
    /// <returns>The array.</returns>
    /// <exception cref="DataFormatException">The data is not a valid unsigned-byte IDX array.</exception>
    public static IdxArray Read(Stream s, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(nameForErrors);

        byte[] magic = new byte[2];
        int got = ReadFully(s, magic);
        // Give the sniffed bytes back, so neither path needs a seekable stream.
        var replay = new PrefixedStream(magic.AsSpan(0, got).ToArray(), s);
        if (got == 2 && magic[0] == 0x1F && magic[1] == 0x8B)
        {
            var tail = new TailStream(replay);
            IdxArray array;
            try
            {
                using (var gz = new GZipStream(tail, CompressionMode.Decompress, leaveOpen: true))
                    array = Parse(gz, nameForErrors, knownLength: null);
                tail.Drain();
            }
            catch (InvalidDataException e)
            {
                throw new DataFormatException(nameForErrors, $"corrupt gzip stream: {OneLine(e.Message)}", e);
            }
            CheckGzipEnd(array, tail, nameForErrors);
            return array;
        }

        long? remaining = null;
        if (s.CanSeek)
            remaining = s.Length - s.Position + got;
        return Parse(replay, nameForErrors, remaining);
    }

    /// <summary>Writes <paramref name="a"/> as an unsigned-byte IDX file, gzip'd if asked.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="a">The array.</param>
    /// <param name="gzip">Whether to gzip the file (the name is not changed; add ".gz" yourself).</param>
    public static void Write(string path, IdxArray a, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(a);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using Stream output = gzip ? new GZipStream(file, CompressionLevel.SmallestSize) : file;

        output.Write(Header(a.Dims));
        output.Write(a.Data);
    }

    // zlib verifies the gzip member's CRC-32 and size, but GZipStream silently ignores bytes appended after the
    // member. So check that the file ends with that member's trailer: its last 4 bytes must be the decompressed
    // size mod 2^32. (A multi-member gzip fails this too; IDX files are never written that way.)
    private static void CheckGzipEnd(IdxArray array, TailStream tail, string name)
    {
        uint size = (uint)(4 + 4L * array.Dims.Length + array.Data.Length);
        if (!tail.TryGetLast(4, out byte[] isize) || BinaryPrimitives.ReadUInt32LittleEndian(isize) != size)
            throw new DataFormatException(name,
                "gzip stream does not end with its size field: trailing garbage after it, a truncated trailer, " +
                "or a multi-member gzip (not supported)");
    }

    private static byte[] Header(int[] dims)
    {
        byte[] header = new byte[4 + 4 * dims.Length];
        header[2] = UnsignedByteType;
        header[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        return header;
    }

    private static IdxArray Parse(Stream s, string name, long? knownLength)
    {
        Span<byte> magic = stackalloc byte[4];
        int got = ReadFully(s, magic);
        if (got < 4)
            throw new DataFormatException(name, $"file shorter than the IDX header: {got} of 4 magic bytes");
        if (magic[0] != 0 || magic[1] != 0)
            throw new DataFormatException(name,
                $"wrong magic: first two bytes must be 00 00, found {magic[0]:X2} {magic[1]:X2} (not an IDX file?)");
        if (magic[2] != UnsignedByteType)
            throw new DataFormatException(name,
                $"unsupported IDX type code 0x{magic[2]:X2} ({TypeName(magic[2])}); only 0x08 (unsigned byte) is supported");
        int rank = magic[3];
        if (rank == 0)
            throw new DataFormatException(name, "IDX header declares 0 dimensions");

        byte[] dimBytes = new byte[4 * rank];
        got = ReadFully(s, dimBytes);
        if (got < dimBytes.Length)
            throw new DataFormatException(name,
                $"file shorter than the IDX header: {rank} dimensions need {dimBytes.Length} bytes, found {got}");

        int[] dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.AsSpan(4 * i));
            if (d > int.MaxValue)
                throw new DataFormatException(name, $"dimension {i} is {d}, which is absurd");
            dims[i] = (int)d;
            count = d == 0 || count == 0 ? 0 : count * d;
            if (count > MaxElements)
                throw new DataFormatException(name,
                    $"dims [{string.Join(", ", dimBytes.Chunk(4).Select(c => BinaryPrimitives.ReadUInt32BigEndian(c)))}] " +
                    $"exceed the maximum of {MaxElements} elements");
        }
        // Overflow is impossible above: count stays <= MaxElements < 2^31 before each multiply by < 2^31.

        long headerSize = 4 + dimBytes.Length;
        if (knownLength is long total && total - headerSize < count)
            throw new DataFormatException(name,
                $"truncated: expected {count} bytes of data, found {Math.Max(0, total - headerSize)}");

        byte[] data = ReadData(s, (int)count, knownLength is null ? InitialUnknownCapacity : (int)count, name);
        long extra = CountRemaining(s);
        if (extra > 0)
            throw new DataFormatException(name,
                $"trailing garbage: {extra} bytes after the {count} bytes of data that dims [{string.Join(", ", dims)}] declare");
        return new IdxArray(dims, data);
    }

    private static byte[] ReadData(Stream s, int count, int initialCapacity, string name)
    {
        byte[] data = new byte[Math.Min(count, initialCapacity)];
        int filled = 0;
        while (filled < count)
        {
            if (filled == data.Length)
                Array.Resize(ref data, (int)Math.Min(count, 2L * data.Length));
            int n = s.Read(data, filled, data.Length - filled);
            if (n == 0)
                throw new DataFormatException(name, $"truncated: expected {count} bytes of data, found {filled}");
            filled += n;
        }
        return data;
    }

    private static long CountRemaining(Stream s)
    {
        Span<byte> buffer = stackalloc byte[4096];
        long total = 0;
        int n;
        while ((n = s.Read(buffer)) > 0)
            total += n;
        return total;
    }

    private static int ReadFully(Stream s, Span<byte> buffer)
    {
        int filled = 0;
        int n;
        while (filled < buffer.Length && (n = s.Read(buffer[filled..])) > 0)
            filled += n;
        return filled;
    }

    private static string TypeName(byte code) => code switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown type",
    };

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");
}

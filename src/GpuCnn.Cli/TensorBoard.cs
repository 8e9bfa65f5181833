using System.Buffers.Binary;
using Google.Protobuf;

namespace GpuCnn.Cli;

/// <summary>
/// Writes TensorBoard event files: TFRecord framing (u64 length, masked CRC32C of the length, the data, masked
/// CRC32C of the data) around <c>Event</c> protobufs (wall_time = 1, step = 2, file_version = 3, summary = 5) whose
/// <c>Summary.Value</c>s (tag = 1, simple_value = 2) hold scalars. The fields are encoded with Google.Protobuf's
/// coded streams, without generated classes.
/// </summary>
sealed class TensorBoardWriter : IDisposable
{
    readonly FileStream file;

    /// <summary>Creates DIR and an events.out.tfevents.TIME.HOST file in it, starting with the file-version event.</summary>
    public TensorBoardWriter(string dir)
    {
        Directory.CreateDirectory(dir);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Path = System.IO.Path.Combine(dir, $"events.out.tfevents.{now}.{Environment.MachineName}.gpucnn");
        file = new FileStream(Path, FileMode.Create, FileAccess.Write, FileShare.Read);
        Write(Event(0, o => o.WriteString("brain.Event:2"), 3));
    }

    /// <summary>The event file's path.</summary>
    public string Path { get; }

    /// <summary>Appends one event with a scalar per tag at <paramref name="step"/>, and flushes it to disk.</summary>
    public void Scalars(long step, IReadOnlyList<(string Tag, float Value)> values)
    {
        var summary = new MemoryStream();
        var s = new CodedOutputStream(summary, leaveOpen: true);
        foreach (var (tag, value) in values)
        {
            var v = new MemoryStream();
            var c = new CodedOutputStream(v, leaveOpen: true);
            c.WriteTag(1, WireFormat.WireType.LengthDelimited);
            c.WriteString(tag);
            c.WriteTag(2, WireFormat.WireType.Fixed32);
            c.WriteFloat(value);
            c.Flush();
            s.WriteTag(1, WireFormat.WireType.LengthDelimited);
            s.WriteBytes(ByteString.CopyFrom(v.ToArray()));
        }
        s.Flush();
        Write(Event(step, o => o.WriteBytes(ByteString.CopyFrom(summary.ToArray())), 5));
        file.Flush(flushToDisk: false);
    }

    static byte[] Event(long step, Action<CodedOutputStream> what, int field)
    {
        var m = new MemoryStream();
        var o = new CodedOutputStream(m, leaveOpen: true);
        o.WriteTag(1, WireFormat.WireType.Fixed64);
        o.WriteDouble(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        if (step != 0)
        {
            o.WriteTag(2, WireFormat.WireType.Varint);
            o.WriteInt64(step);
        }
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        what(o);
        o.Flush();
        return m.ToArray();
    }

    void Write(byte[] data)
    {
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(head, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], Crc32C.Masked(head[..8]));
        file.Write(head);
        file.Write(data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, Crc32C.Masked(data));
        file.Write(tail);
    }

    public void Dispose() => file.Dispose();
}

/// <summary>One scalar read back from an event file.</summary>
public readonly record struct TensorBoardScalar(long Step, double WallTime, string Tag, float Value);

/// <summary>Reads TensorBoard event files, checking both CRCs of every record; the counterpart of the writer.</summary>
public static class TensorBoardReader
{
    /// <summary>The file-version string and every scalar in the file, in order.</summary>
    /// <exception cref="Data.DataFormatException">A record is truncated, or a CRC does not match.</exception>
    public static (string? FileVersion, List<TensorBoardScalar> Scalars) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        string? version = null;
        var scalars = new List<TensorBoardScalar>();
        int pos = 0;
        while (pos < bytes.Length)
        {
            if (bytes.Length - pos < 12) throw new Data.DataFormatException(path, $"truncated record header at byte {pos}");
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(pos));
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 8)) != Crc32C.Masked(bytes.AsSpan(pos, 8)))
                throw new Data.DataFormatException(path, $"length CRC mismatch at byte {pos}");
            if (len > (ulong)(bytes.Length - pos - 16)) throw new Data.DataFormatException(path, $"truncated record at byte {pos}");
            var data = bytes.AsSpan(pos + 12, (int)len);
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(pos + 12 + (int)len)) != Crc32C.Masked(data))
                throw new Data.DataFormatException(path, $"data CRC mismatch at byte {pos}");
            ReadEvent(data.ToArray(), ref version, scalars);
            pos += 16 + (int)len;
        }
        return (version, scalars);
    }

    static void ReadEvent(byte[] data, ref string? version, List<TensorBoardScalar> scalars)
    {
        var c = new CodedInputStream(data);
        double wall = 0;
        long step = 0;
        ByteString? summary = null;
        uint tag;
        while ((tag = c.ReadTag()) != 0)
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: wall = c.ReadDouble(); break;
                case 2: step = c.ReadInt64(); break;
                case 3: version = c.ReadString(); break;
                case 5: summary = c.ReadBytes(); break;
                default: c.SkipLastField(); break;
            }
        if (summary is null) return;
        var s = new CodedInputStream(summary.ToByteArray());
        while ((tag = s.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 1) { s.SkipLastField(); continue; }
            var v = new CodedInputStream(s.ReadBytes().ToByteArray());
            string name = "";
            float value = float.NaN;
            while ((tag = v.ReadTag()) != 0)
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: name = v.ReadString(); break;
                    case 2: value = v.ReadFloat(); break;
                    default: v.SkipLastField(); break;
                }
            scalars.Add(new(step, wall, name, value));
        }
    }
}

/// <summary>CRC-32C (Castagnoli), as TFRecord uses it, and TensorFlow's masking of it.</summary>
public static class Crc32C
{
    static readonly uint[] Table = Build();

    static uint[] Build()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (byte b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    /// <summary>TensorFlow's masked CRC: rotate right by 15 and add 0xa282ead8, so CRCs of CRCs do not collide.</summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        uint c = Compute(data);
        return ((c >> 15) | (c << 17)) + 0xa282ead8u;
    }
}

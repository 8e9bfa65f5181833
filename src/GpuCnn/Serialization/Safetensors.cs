using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using GpuCnn.Data;

namespace GpuCnn.Serialization;

/// <summary>
/// The safetensors format: a little-endian u64 header length, a UTF-8 JSON header mapping each name to its dtype,
/// shape and <c>data_offsets</c> [begin, end) in the data that follows (plus an optional string map
/// <c>__metadata__</c>), then the raw little-endian data. Reading streams each tensor from the file, so files have
/// no 2 GiB limit, and a malformed file fails with a <see cref="DataFormatException"/> that names the file and what
/// is wrong before anything is allocated from its sizes.
/// </summary>
public static class Safetensors
{
    /// <summary>Headers beyond this are refused (the reference implementation's limit too).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    static readonly Dictionary<string, int> DTypeBytes = new()
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1, ["I16"] = 2, ["U16"] = 2, ["F16"] = 2,
        ["BF16"] = 2, ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["F64"] = 8, ["I64"] = 8, ["U64"] = 8,
    };
    static readonly string[] Readable = { "F32", "F64", "F16", "BF16", "I64", "I32" };

    /// <summary>Writes <paramref name="dict"/> to <paramref name="path"/> (through a temporary file, then renamed).</summary>
    public static void Save(string path, StateDict dict, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (key, t) in dict)
            {
                long bytes = t.Count * (t.DType == StateDType.F32 ? 4 : 8);
                w.WriteStartObject(key);
                w.WriteString("dtype", t.DType.ToString());
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8, so the data is aligned.
        int pad = (int)((8 - json.Length % 8) % 8);
        for (int i = 0; i < pad; i++) json.WriteByte((byte)' ');
        string tmp = path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Length);
            f.Write(len);
            json.Position = 0;
            json.CopyTo(f);
            foreach (var (_, t) in dict)
            {
                if (t.Floats is { } fl) f.Write(MemoryMarshal.AsBytes(fl.AsSpan()));
                else f.Write(MemoryMarshal.AsBytes(t.Int64s!.AsSpan()));
            }
            f.Flush(true);
        }
        File.Move(tmp, path, overwrite: true);
    }

    readonly record struct Entry(string Name, string DType, int[] Shape, long Begin, long End);

    /// <summary>Reads a safetensors file; float types become float32, integer types int64.</summary>
    /// <exception cref="DataFormatException">The file is not valid safetensors; the message names the file and the problem.</exception>
    public static StateDict Load(string path) => Load(path, out _);

    /// <summary>Reads a safetensors file and its <c>__metadata__</c>.</summary>
    /// <exception cref="DataFormatException">The file is not valid safetensors; the message names the file and the problem.</exception>
    public static StateDict Load(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        if (Directory.Exists(path)) throw new DataFormatException(path, "is a directory, not a safetensors file");
        // Unbuffered: the header and each tensor are read in one call into their own arrays.
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        long length = f.Length;
        Span<byte> len = stackalloc byte[8];
        if (f.ReadAtLeast(len, 8, throwOnEndOfStream: false) < 8)
            throw new DataFormatException(path, $"truncated: {length} bytes, shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (headerLength > MaxHeaderBytes)
            throw new DataFormatException(path, $"header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        if ((long)headerLength > length - 8)
            throw new DataFormatException(path, $"header length {headerLength} runs past the end of the file ({length} bytes)");
        var header = new byte[headerLength];
        f.ReadExactly(header);
        var entries = ParseHeader(path, header, out metadata);
        long data = length - 8 - (long)headerLength;
        CheckOffsets(path, entries, data);

        var dict = new StateDict();
        long start = 8 + (long)headerLength;
        foreach (var e in entries.OrderBy(e => e.Begin))
        {
            f.Position = start + e.Begin;
            dict[e.Name] = ReadTensor(f, e);
        }
        // Keep the header's order of names, as the file lists them.
        var ordered = new StateDict();
        foreach (var e in entries) ordered[e.Name] = dict[e.Name];
        return ordered;
    }

    static List<Entry> ParseHeader(string path, byte[] header, out IReadOnlyDictionary<string, string> metadata)
    {
        var meta = new Dictionary<string, string>();
        metadata = meta;
        // JsonDocument accepts invalid UTF-8 in names and fails only when one is read, with another exception type.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw new DataFormatException(path, "header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new DataFormatException(path, $"header is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new DataFormatException(path, "header is not a JSON object");
            var entries = new List<Entry>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new DataFormatException(path, "__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                        meta[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw new DataFormatException(path, $"__metadata__ '{m.Name}' is not a string");
                    continue;
                }
                if (entries.Any(e => e.Name == prop.Name)) throw new DataFormatException(path, $"tensor '{prop.Name}' is listed twice");
                entries.Add(ParseEntry(path, prop));
            }
            return entries;
        }
    }

    static Entry ParseEntry(string path, JsonProperty prop)
    {
        string name = prop.Name;
        DataFormatException Bad(string what) => new(path, $"tensor '{name}': {what}");
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw Bad("entry is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Bad("no dtype");
        string dtype = dt.GetString()!;
        if (!DTypeBytes.TryGetValue(dtype, out int size)) throw Bad($"unknown dtype '{dtype}'");
        if (!Readable.Contains(dtype)) throw Bad($"dtype {dtype} is not supported (only {string.Join(", ", Readable)})");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Bad("no shape");
        var shape = new List<int>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int x) || x < 0) throw Bad($"bad dimension {d.GetRawText()} in shape");
            shape.Add(x);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad("data_offsets is not [begin, end]");
        var o = off.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long l) && l >= 0 ? l : -1).ToArray();
        if (o[0] < 0 || o[1] < 0 || o[1] < o[0]) throw Bad($"bad data_offsets {off.GetRawText()}");
        // Element count × dtype size must be exactly the span, with no overflow on the way.
        decimal bytes = shape.Aggregate(1m, (a, d) => a * d) * size;
        if (bytes != o[1] - o[0])
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} is {bytes} bytes, but data_offsets span {o[1] - o[0]}");
        if (bytes / size > Array.MaxLength) throw Bad($"{bytes / size} elements are more than one array holds");
        return new Entry(name, dtype, shape.ToArray(), o[0], o[1]);
    }

    static void CheckOffsets(string path, List<Entry> entries, long data)
    {
        Entry? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.End > data)
                throw new DataFormatException(path, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] run past the end of the data ({data} bytes)");
            if (previous is { } p && e.Begin < p.End && e.End > e.Begin)
                throw new DataFormatException(path, $"tensors '{p.Name}' [{p.Begin}, {p.End}] and '{e.Name}' [{e.Begin}, {e.End}] overlap");
            if (e.End > e.Begin) previous = e;
        }
    }

    static StateTensor ReadTensor(FileStream f, Entry e)
    {
        long count = e.Shape.Aggregate(1L, (a, d) => a * d);
        switch (e.DType)
        {
            case "F32":
            {
                var a = new float[count];
                f.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                return new StateTensor(e.Shape, a);
            }
            case "I64":
            {
                var a = new long[count];
                f.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                return new StateTensor(e.Shape, a);
            }
            case "I32":
            {
                var a = new int[count];
                f.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                return new StateTensor(e.Shape, a.Select(v => (long)v).ToArray());
            }
            case "F64":
            {
                var a = new double[count];
                f.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                return new StateTensor(e.Shape, a.Select(v => (float)v).ToArray());
            }
            default: // F16, BF16
            {
                var a = new ushort[count];
                f.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
                bool bf16 = e.DType == "BF16";
                return new StateTensor(e.Shape, a.Select(v => bf16 ? BitConverter.Int32BitsToSingle(v << 16) : (float)BitConverter.UInt16BitsToHalf(v)).ToArray());
            }
        }
    }
}

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Optimizers;

namespace GpuCnn.Serialization;

/// <summary>Metadata stored in a checkpoint's header.</summary>
public sealed record CheckpointHeader
{
    /// <summary>Model name (e.g. lenet5).</summary>
    public string Model { get; init; } = "";
    /// <summary>Epochs completed when saved.</summary>
    public int Epoch { get; init; }
    /// <summary>Optimiser name, or null when no optimiser state is stored.</summary>
    public string? Optimizer { get; init; }
    /// <summary>Optimiser steps taken.</summary>
    public long OptimizerSteps { get; init; }
    /// <summary>State buffers per parameter value (1 for SGD's momentum, 2 for Adam's moments).</summary>
    public int OptimizerStateBuffers { get; init; }
    /// <summary>Learning rate at save time.</summary>
    public float LearningRate { get; init; }
    /// <summary>Parameters in file order: full name and shape.</summary>
    public List<ParameterEntry> Parameters { get; init; } = new();
    /// <summary>Free-form extra data (e.g. the training options).</summary>
    public Dictionary<string, string> Extra { get; init; } = new();
    /// <summary>Where training stood (null in checkpoints written outside a training loop, and in older files).</summary>
    public Training.TrainingState? Training { get; init; }
}

/// <summary>One parameter record of a checkpoint header.</summary>
/// <param name="Name">Full name, <c>layer.param</c>.</param>
/// <param name="Shape">Dimensions.</param>
public sealed record ParameterEntry(string Name, int[] Shape);

/// <summary>
/// Checkpoint files: the weights and the optimiser state behind a versioned header.
/// <para>Layout (little-endian): magic <c>GPUCNNCK</c> (8 bytes), format version (u32), header length (u32),
/// UTF-8 JSON header, then every parameter's float32 values in header order, then (if an optimiser is stored) its
/// per-parameter state in the same order, then a CRC-32 of everything before it.</para>
/// Parameters and optimiser state are stored per parameter, not per device, so a checkpoint made on one device
/// loads onto any placement. Files are written to a temporary file and renamed, so a crash never leaves a
/// half-written checkpoint under the real name.
/// </summary>
public static class Checkpoint
{
    static readonly byte[] Magic = "GPUCNNCK"u8.ToArray();

    /// <summary>Current format version.</summary>
    public const uint Version = 1;

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Saves the parameters (and optimiser state and training state, if given) atomically to <paramref name="path"/>.</summary>
    public static void Save(string path, ParameterStore store, Optimizer? optimizer = null, int epoch = 0, IDictionary<string, string>? extra = null,
        Training.TrainingState? training = null)
    {
        var pars = store.Graph.Parameters;
        var header = new CheckpointHeader
        {
            Model = store.Graph.Name,
            Epoch = epoch,
            Optimizer = optimizer?.Name,
            OptimizerSteps = optimizer?.Steps ?? 0,
            OptimizerStateBuffers = optimizer?.StateBuffers ?? 0,
            LearningRate = optimizer?.LearningRate ?? 0,
            Parameters = pars.Select(p => new ParameterEntry(p.FullName, p.Shape.ToArray())).ToList(),
            Extra = extra is null ? new() : new(extra),
            Training = training,
        };
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string tmp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            // Streamed parameter by parameter, with a running CRC: no 2 GiB limit and no copy of the whole file.
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                uint crc = 0xFFFFFFFFu;
                void Put(ReadOnlySpan<byte> b) { crc = Crc32Update(crc, b); fs.Write(b); }
                Put(Magic);
                Put(U32(Version));
                byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
                Put(U32((uint)json.Length));
                Put(json);
                foreach (var p in pars) Put(LittleEndian(store.Get(p)));
                if (optimizer is not null)
                    foreach (var st in PerParameterState(store, optimizer)) Put(LittleEndian(st));
                fs.Write(U32(crc ^ 0xFFFFFFFFu));
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Reads only the header, validating the whole file.</summary>
    public static CheckpointHeader ReadHeader(string path) => Read(path).Header;

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="store"/> (and the optimiser's state, if given and stored).
    /// </summary>
    /// <exception cref="DataFormatException">The file is corrupt, truncated, of another format or version, or does not
    /// match the model; the message names the file and the problem.</exception>
    public static CheckpointHeader Load(string path, ParameterStore store, Optimizer? optimizer = null)
    {
        var (header, values, state) = Read(path);
        var pars = store.Graph.Parameters;
        if (header.Parameters.Count != pars.Count)
            throw new DataFormatException(path, $"holds {header.Parameters.Count} parameters but model '{store.Graph.Name}' has {pars.Count}");
        for (int i = 0; i < pars.Count; i++)
        {
            var e = header.Parameters[i];
            var p = pars[i];
            if (e.Name != p.FullName)
                throw new DataFormatException(path, $"parameter {i} is '{e.Name}' but the model's is '{p.FullName}'");
            if (!e.Shape.SequenceEqual(p.Shape.ToArray()))
                throw new DataFormatException(path, $"parameter '{e.Name}' has shape [{string.Join(", ", e.Shape)}] but the model expects {p.Shape}");
        }
        for (int i = 0; i < pars.Count; i++) store.Set(pars[i], values[i]);
        if (optimizer is not null && state is not null)
        {
            if (header.Optimizer != optimizer.Name || header.OptimizerStateBuffers != optimizer.StateBuffers)
                throw new DataFormatException(path, $"stores '{header.Optimizer}' optimiser state, not '{optimizer.Name}'");
            optimizer.SetState(ToSlices(store, state, optimizer.StateBuffers), header.OptimizerSteps);
        }
        return header;
    }

    /// <summary>Headers beyond this are refused before anything is allocated for them.</summary>
    const uint MaxHeaderBytes = 64 << 20;

    static (CheckpointHeader Header, float[][] Values, float[][]? State) Read(string path)
    {
        if (Directory.Exists(path)) throw new DataFormatException(path, "is a directory, not a checkpoint");
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"{path}: checkpoint not found", path); }
        using (fs)
        {
            // Devices such as /dev/zero report no length: nothing of theirs is a checkpoint.
            long length = fs.CanSeek ? fs.Length : 0;
            Span<byte> head = stackalloc byte[Magic.Length + 8];
            if (length < Magic.Length + 12 || fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < head.Length
                || !head[..Magic.Length].SequenceEqual(Magic))
                throw new DataFormatException(path, "not a GpuCnn checkpoint (bad magic)");
            long pos = Magic.Length;
            uint version = BinaryPrimitives.ReadUInt32LittleEndian(head[(int)pos..]); pos += 4;
            if (version != Version)
                throw new DataFormatException(path, $"checkpoint format version {version} is not supported (this build reads version {Version})");
            uint headerLen = BinaryPrimitives.ReadUInt32LittleEndian(head[(int)pos..]); pos += 4;
            if (headerLen > length - pos - 4)
                throw new DataFormatException(path, $"truncated: header says {headerLen} bytes but only {length - pos - 4} remain");
            if (headerLen > MaxHeaderBytes)
                throw new DataFormatException(path, $"header length {headerLen} exceeds the limit of {MaxHeaderBytes} bytes");
            if (StreamedCrc(fs, length - 4) != ReadU32At(fs, length - 4))
                throw new DataFormatException(path, "checksum mismatch: the file is corrupt or truncated");
            fs.Position = pos;
            var json = new byte[headerLen];
            fs.ReadExactly(json);
            CheckpointHeader header;
            try { header = JsonSerializer.Deserialize<CheckpointHeader>(json, Json) ?? throw new JsonException("empty header"); }
            catch (JsonException e) { throw new DataFormatException(path, $"bad header: {e.Message}", e); }
            pos += headerLen;
            if (header.Parameters.Any(p => p.Shape is null || p.Shape.Any(d => d < 0)))
                throw new DataFormatException(path, "bad header: a parameter has no shape or a negative dimension");
            long need = header.Parameters.Sum(p => p.Shape.Aggregate(1L, (a, d) => a * d)) * 4;
            long body = length - 4 - pos;
            bool hasState = header.Optimizer is not null;
            if (hasState && header.OptimizerStateBuffers is < 0 or > 8)
                throw new DataFormatException(path, $"bad header: {header.OptimizerStateBuffers} optimiser state buffers");
            long expected = need * (1 + (hasState ? header.OptimizerStateBuffers : 0));
            if (body != expected)
                throw new DataFormatException(path, $"truncated or padded: expected {expected} bytes of tensor data, found {body}");
            var values = new float[header.Parameters.Count][];
            for (int i = 0; i < values.Length; i++) values[i] = ReadFloats(fs, header.Parameters[i].Shape, 1);
            float[][]? state = null;
            if (hasState)
            {
                // Per parameter: buffer 0, buffer 1, ... each the parameter's size.
                state = new float[header.Parameters.Count][];
                for (int i = 0; i < state.Length; i++) state[i] = ReadFloats(fs, header.Parameters[i].Shape, header.OptimizerStateBuffers);
            }
            return (header, values, state);
        }
    }

    static uint StreamedCrc(FileStream fs, long end)
    {
        fs.Position = 0;
        var buffer = new byte[1 << 20];
        uint crc = 0xFFFFFFFFu;
        for (long left = end; left > 0;)
        {
            int n = fs.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n <= 0) break;
            crc = Crc32Update(crc, buffer.AsSpan(0, n));
            left -= n;
        }
        return crc ^ 0xFFFFFFFFu;
    }

    static uint ReadU32At(FileStream fs, long at)
    {
        fs.Position = at;
        Span<byte> b = stackalloc byte[4];
        fs.ReadExactly(b);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>Optimiser state per parameter, gathered from the per-device slices.</summary>
    static List<float[]> PerParameterState(ParameterStore store, Optimizer optimizer)
    {
        var slices = optimizer.GetState();
        int k = optimizer.StateBuffers;
        var result = new List<float[]>();
        var byParam = new Dictionary<Layers.Parameter, (float[] Slice, long Length, long Offset)>();
        for (int i = 0; i < store.Slices.Count; i++)
            foreach (var (p, off) in store.Slices[i].Entries)
                byParam[p] = (slices[i], store.Slices[i].Length, off);
        foreach (var p in store.Graph.Parameters)
        {
            var (slice, length, off) = byParam[p];
            for (int b = 0; b < k; b++) result.Add(slice.AsSpan((int)(b * length + off), (int)p.Shape.Size).ToArray());
        }
        return result;
    }

    /// <summary>Scatters per-parameter state into the per-device slice layout.</summary>
    static List<float[]> ToSlices(ParameterStore store, float[][] perParam, int k)
    {
        var index = store.Graph.Parameters.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i);
        return store.Slices.Select(s =>
        {
            var a = new float[s.Length * k];
            foreach (var (p, off) in s.Entries)
                for (int b = 0; b < k; b++)
                    perParam[index[p]].AsSpan((int)(b * p.Shape.Size), (int)p.Shape.Size).CopyTo(a.AsSpan((int)(b * s.Length + off)));
            return a;
        }).ToList();
    }

    static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    static byte[] LittleEndian(float[] a)
    {
        var b = new byte[a.Length * 4L];
        for (int i = 0; i < a.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), a[i]);
        return b;
    }

    /// <summary><paramref name="copies"/> consecutive tensors of <paramref name="shape"/>, read from the stream into one array.</summary>
    static float[] ReadFloats(Stream s, int[] shape, int copies)
    {
        long n = shape.Aggregate(1L, (a, d) => a * d) * copies;
        if (n > Array.MaxLength) throw new DataFormatException(s is FileStream f ? f.Name : "checkpoint", $"a tensor of {n} values is more than one array holds");
        var a = new float[n];
        s.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
        if (!BitConverter.IsLittleEndian)
            for (long i = 0; i < n; i++) a[i] = BinaryPrimitives.ReadSingleLittleEndian(BitConverter.GetBytes(a[i]));
        return a;
    }

    static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>CRC-32 (IEEE 802.3, as zlib).</summary>
    public static uint Crc32(ReadOnlySpan<byte> data) => Crc32Update(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;

    static uint Crc32Update(uint c, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c;
    }
}

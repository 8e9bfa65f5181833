using System.Diagnostics;
using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Serialization;
using GpuCnn.Serialization.Onnx;
using GpuCnn.Tests.Data;
using Xunit;

namespace GpuCnn.Tests.Resilience;

/// <summary>
/// Seeded fuzzing of every reader: valid files mutated by bit flips, truncation, forged sizes and counts, and inserted
/// garbage. Each case must either read (a flip in pixel data can leave a valid file) or fail with the reader's own
/// exception naming the file, within 100 ms and a bounded allocation. 500 cases in CI; 20,000 in the long category.
/// </summary>
public class ReaderFuzzTests
{
    sealed record Reader(string Name, byte[] Valid, Type Error, Action<string, byte[]> Read);

    static List<Reader> Readers(TempDir dir)
    {
        var graph = Models.ModelZoo.Create("lenet5", 10, 28, 1);
        using var device = Devices.DeviceManager.Open("cpu");
        using var store = new ParameterStore(graph, [device], seed: 3);
        var rng = new Random(7);
        var pixels = new byte[12 * 28 * 28];
        rng.NextBytes(pixels);
        var idx = new IdxArray([12, 28, 28], pixels);
        Idx.Write(dir.File("raw.idx"), idx, gzip: false);
        Idx.Write(dir.File("gz.idx"), idx, gzip: true);
        var cifar = new byte[8 * 3073];
        rng.NextBytes(cifar);
        for (int i = 0; i < 8; i++) cifar[i * 3073] = (byte)(i % 10);
        Checkpoint.Save(dir.File("valid.ck"), store, epoch: 1);
        Safetensors.Save(dir.File("valid.safetensors"), StateDict.Of(store));
        byte[] onnx = OnnxExport.ToBytes(graph, store.Get);

        void OnDisk(string path, byte[] bytes, Action<string> read)
        {
            File.WriteAllBytes(path, bytes);
            read(path);
        }
        return
        [
            new("idx", File.ReadAllBytes(dir.File("raw.idx")), typeof(DataFormatException), (p, b) => OnDisk(p, b, f => Idx.Read(f))),
            new("idx.gz", File.ReadAllBytes(dir.File("gz.idx")), typeof(DataFormatException), (p, b) => OnDisk(p, b, f => Idx.Read(f))),
            new("cifar10", cifar, typeof(DataFormatException), (p, b) => OnDisk(p, b, f => Cifar10.LoadBatch(f))),
            new("checkpoint", File.ReadAllBytes(dir.File("valid.ck")), typeof(DataFormatException), (p, b) => OnDisk(p, b, f => Checkpoint.ReadHeader(f))),
            new("safetensors", File.ReadAllBytes(dir.File("valid.safetensors")), typeof(DataFormatException), (p, b) => OnDisk(p, b, f => Safetensors.Load(f))),
            new("onnx", onnx, typeof(OnnxFormatException), (p, b) => OnnxImport.Load(b, p)),
        ];
    }

    /// <summary>One seeded mutation of <paramref name="valid"/>.</summary>
    static byte[] Mutate(byte[] valid, Random r)
    {
        var b = valid.ToList();
        switch (r.Next(5))
        {
            case 0: // bit flips
                for (int k = r.Next(1, 9); k > 0; k--) { int i = r.Next(b.Count); b[i] ^= (byte)(1 << r.Next(8)); }
                break;
            case 1: // truncation
                b = b.Take(r.Next(b.Count)).ToList();
                break;
            case 2: // a forged size or count where headers keep them: the first bytes, little- or big-endian
            case 3:
            {
                uint v = r.Next(4) switch { 0 => 0xFFFFFFFFu, 1 => 0x7FFFFFFFu, 2 => 0x80000000u, _ => (uint)r.Next() };
                int at = r.Next(Math.Min(b.Count - 4, r.Next(2) == 0 ? 16 : 256));
                for (int k = 0; k < 4; k++) b[at + k] = (byte)(v >> (8 * k));
                if (r.Next(2) == 0) for (int k = 4; k < 8 && at + k < b.Count; k++) b[at + k] = 0x7F;
                break;
            }
            default: // inserted garbage
                var junk = new byte[r.Next(1, 65)];
                r.NextBytes(junk);
                b.InsertRange(r.Next(b.Count), junk);
                break;
        }
        return b.ToArray();
    }

    static void Fuzz(int cases, int seed)
    {
        using var dir = new TempDir();
        var readers = Readers(dir);
        foreach (var reader in readers) reader.Read(dir.File("warm-" + reader.Name), reader.Valid); // valid files read; JIT warmed
        var rng = new Random(seed);
        for (int n = 0; n < cases; n++)
        {
            var reader = readers[n % readers.Count];
            byte[] bytes = Mutate(reader.Valid, new Random(rng.Next()));
            string path = dir.File($"case{n}-{reader.Name}");
            // One retry absorbs a scheduler or GC pause on a loaded machine; a reader that hangs or balloons fails both.
            (TimeSpan Time, long Bytes, Exception? Error) Once()
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                Exception? error = null;
                try { reader.Read(path, bytes); }
                catch (Exception e) { error = e; }
                return (sw.Elapsed, GC.GetAllocatedBytesForCurrentThread() - before, error);
            }
            var run = Once();
            if (run.Time > TimeSpan.FromMilliseconds(100) || run.Bytes > 64L << 20) run = Once();
            string what = $"{reader.Name} case {n} ({bytes.Length} bytes)";
            if (run.Error is { } e)
            {
                Assert.True(e.GetType() == reader.Error, $"{what}: {e.GetType().Name}: {e.Message}");
                Assert.Contains(path, e.Message);
            }
            Assert.True(run.Time <= TimeSpan.FromMilliseconds(100), $"{what}: {run.Time.TotalMilliseconds:F0} ms");
            Assert.True(run.Bytes <= 64L << 20, $"{what}: allocated {run.Bytes >> 20} MiB");
            File.Delete(path);
        }
    }

    [Fact]
    public void FiveHundredMutatedFilesEndInTheReadersOwnErrors() => Fuzz(500, 14);

    [SkippableFact, Trait("Category", "Long")]
    public void TwentyThousandMutatedFilesEndInTheReadersOwnErrors()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1", "long run: set GPUCNN_LONG_TESTS=1 to include it");
        Fuzz(20_000, 1414);
    }
}

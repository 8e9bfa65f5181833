using ILGPU.Runtime;
using System.Buffers.Binary;
using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Serialization;
using GpuCnn.Tests.Data;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Checkpoints are streamed: directories, devices and huge sparse files fail on one line with bounded memory.</summary>
public class CheckpointStreamTests
{
    static DataFormatException Refused(string path, ParameterStore store, out long allocated)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFormatException>(() => Checkpoint.Load(path, store));
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void A_directory_dev_zero_and_a_sparse_3_GB_file_are_refused_with_bounded_memory()
    {
        using var tmp = new TempDir();
        using var store = new ParameterStore(LeNet5.Build(), new[] { Backends.Get("cpu") });
        Assert.Contains("is a directory", Refused(tmp.Path, store, out _).Message);
        if (File.Exists("/dev/zero"))
        {
            Assert.Contains("bad magic", Refused("/dev/zero", store, out long zeroBytes).Message);
            Assert.True(zeroBytes < 4 << 20, $"/dev/zero: {zeroBytes} bytes allocated");
        }
        string sparse = tmp.File("sparse.ckpt");
        using (var f = new FileStream(sparse, FileMode.CreateNew)) f.SetLength(3L << 30);
        Assert.Contains("bad magic", Refused(sparse, store, out long sparseBytes).Message);
        Assert.True(sparseBytes < 4 << 20, $"sparse file: {sparseBytes} bytes allocated");

        // A real magic and version with a forged header length: refused before the header is allocated.
        string forged = tmp.File("forged.ckpt");
        using (var f = new FileStream(forged, FileMode.CreateNew))
        {
            var head = new byte[16];
            "GPUCNNCK"u8.CopyTo(head);
            BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(8), Checkpoint.Version);
            BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(12), 0x10000000u);
            f.Write(head);
            f.SetLength(3L << 30);
        }
        Assert.Contains("header length 268435456 exceeds the limit", Refused(forged, store, out long forgedBytes).Message);
        Assert.True(forgedBytes < 4 << 20, $"forged header: {forgedBytes} bytes allocated");
    }

    [Fact]
    public void Eval_on_a_directory_prints_one_line()
    {
        using var tmp = new TempDir();
        var err = new StringWriter();
        int code = GpuCnn.Cli.CommandLine.Run(new[] { "eval", "lenet5", "--load", tmp.Path, "--device", "cpu" }, new StringWriter(), err);
        Assert.Equal(1, code);
        Assert.Equal($"error: {tmp.Path}: is a directory, not a checkpoint", err.ToString().TrimEnd());
    }

    [SkippableFact, Trait("Category", "Long")]
    public void A_vgg16_with_adam_state_round_trips()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1",
            "1.66 GB checkpoint of VGG-16 with Adam state: set GPUCNN_LONG_TESTS=1 to include it");
        using var tmp = new TempDir();
        var dev = Backends.Get("cpu");
        using var store = new ParameterStore(ModelZoo.Create("vgg16", 1000, 224, 3), new[] { dev }, seed: 5);
        var adam = new Adam(store, 1e-3f);
        var grad = new float[store.Slices[0].Length];
        for (int i = 0; i < grad.Length; i += 997) grad[i] = 1e-3f * (i % 7 - 3);
        store.Slices[0].Grads.View.CopyFromCPU(dev.Stream, grad);
        adam.Step();
        string path = tmp.File("vgg16.ckpt");
        Checkpoint.Save(path, store, adam, epoch: 3);
        Assert.True(new FileInfo(path).Length > 1_600_000_000L);
        using var other = new ParameterStore(ModelZoo.Create("vgg16", 1000, 224, 3), new[] { dev }, seed: 6);
        var adam2 = new Adam(other, 1e-3f);
        var header = Checkpoint.Load(path, other, adam2);
        Assert.Equal(3, header.Epoch);
        var (mine, theirs) = (store.Graph.Parameters, other.Graph.Parameters);
        for (int i = 0; i < mine.Count; i += 4) Assert.Equal(store.Get(mine[i]), other.Get(theirs[i]));
        Assert.Equal(adam.GetState()[0], adam2.GetState()[0]);
        Assert.Equal(adam.Steps, adam2.Steps);
    }
}

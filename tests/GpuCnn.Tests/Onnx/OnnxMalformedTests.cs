using Google.Protobuf;
using GpuCnn.Models;
using GpuCnn.Serialization.Onnx;
using GpuCnn.Serialization.Onnx.Proto;
using Xunit;

namespace GpuCnn.Tests.Onnx;

/// <summary>Unsupported, malformed, truncated and forged files give one error that names the file and the problem.</summary>
public class OnnxMalformedTests
{
    const string File = "bad.onnx";

    static ModelProto LeNet() => ModelProto.Parser.ParseFrom(OnnxExport.ToBytes(LeNet5.Build(), p => p.InitialValues(1)));

    static OnnxFormatException Fails(ModelProto m) => Fails(m.ToByteArray());

    static OnnxFormatException Fails(byte[] bytes)
    {
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImport.Load(bytes, File));
        Assert.StartsWith(File + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void Unsupported_op_names_the_node_its_type_and_what_is_supported()
    {
        var m = LeNet();
        var relu = m.Graph.Node.First(n => n.OpType == "Relu");
        relu.OpType = "HardSwish";
        var e = Fails(m);
        Assert.Contains($"node '{relu.Name}' (HardSwish)", e.Message);
        Assert.Contains("supported ops: Conv, Gemm", e.Message);
    }

    [Fact]
    public void Bad_attribute_names_the_node_and_the_attribute()
    {
        var m = LeNet();
        var pool = m.Graph.Node.First(n => n.OpType == "MaxPool");
        pool.Attribute.First(a => a.Name == "kernel_shape").Ints[1] = 3;
        Assert.Contains($"node '{pool.Name}' (MaxPool): window [2, 3]", Fails(m).Message);
    }

    [Fact]
    public void Missing_initialiser_is_named()
    {
        var m = LeNet();
        m.Graph.Initializer.Remove(m.Graph.Initializer.First(t => t.Name == "conv2.weight"));
        Assert.Contains("input 'conv2.weight' is not a graph input, an initialiser or any node's output", Fails(m).Message);
    }

    [Fact]
    public void Cycle_is_reported_without_hanging()
    {
        var m = LeNet();
        var first = m.Graph.Node[0];
        first.Input[0] = m.Graph.Node[3].Output[0]; // conv1 now reads what a later node computes from conv1
        Assert.Contains("cycle", Fails(m).Message);
    }

    [Fact]
    public void Forged_sizes_fail_before_allocating()
    {
        var m = LeNet();
        var w = m.Graph.Initializer.First(t => t.Name == "fc1.weight");
        w.Dims.Clear();
        w.Dims.Add(1L << 40);
        w.Dims.Add(1L << 40);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("initialiser 'fc1.weight': more than", Fails(m).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "a forged size allocated memory");

        m = LeNet();
        m.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimValue = 1L << 33;
        Assert.Contains("graph input 'input'", Fails(m).Message);

        m = LeNet();
        m.Graph.Initializer.First(t => t.Name == "fc1.bias").Dims[0] = 121;
        Assert.Contains("needs 121 values, the tensor holds 120", Fails(m).Message);
    }

    [Fact]
    public void Truncated_and_foreign_files_name_the_file()
    {
        var bytes = LeNet().ToByteArray();
        Assert.Contains("not a valid ONNX protobuf", Fails(bytes[..(bytes.Length / 2)]).Message);
        Fails(System.Text.Encoding.UTF8.GetBytes("this is not an ONNX model at all"));
        Assert.Contains("no graph", Fails(Array.Empty<byte>()).Message);
        var missing = Path.Combine(Path.GetTempPath(), $"gpucnn-missing-{Guid.NewGuid():N}.onnx");
        Assert.Equal($"{missing}: no such file", Assert.Throws<OnnxFormatException>(() => OnnxImport.Load(missing)).Message);
    }

    [Fact]
    public void Seeded_mutation_fuzz_gives_only_format_errors() => Fuzz(cases: 120, seed: 1);

    [SkippableFact, Trait("Category", "Long")]
    public void Seeded_mutation_fuzz_long_run()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1",
            "long run (a few minutes): set GPUCNN_LONG_TESTS=1 to include it");
        Fuzz(cases: 5000, seed: 2);
    }

    /// <summary>
    /// Mutates valid files (byte flips, truncation, random varints spliced in): each must import or raise
    /// <see cref="OnnxFormatException"/> naming the file, and none may allocate more than 64 MiB.
    /// </summary>
    static void Fuzz(int cases, int seed)
    {
        var sources = new[] { LeNet().ToByteArray(), TorchStyleModels.Cnn() };
        var rng = new Random(seed);
        int imported = 0;
        for (int c = 0; c < cases; c++)
        {
            var src = sources[c % sources.Length];
            var bytes = Mutate(src, rng);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                OnnxImport.Load(bytes, File);
                imported++;
            }
            catch (OnnxFormatException e) { Assert.StartsWith(File + ": ", e.Message); }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 64 << 20, $"case {c} allocated {allocated >> 20} MiB");
        }
        Assert.True(imported < cases, "no mutation was rejected, so the fuzz tested nothing");
    }

    static byte[] Mutate(byte[] src, Random rng)
    {
        var b = (byte[])src.Clone();
        switch (rng.Next(3))
        {
            case 0:
                for (int i = rng.Next(1, 9); i > 0; i--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                return b;
            case 1:
                return b[..rng.Next(b.Length)];
            default:
                // A forged length or size: a varint near the top of its range spliced into the structure.
                int at = rng.Next(Math.Min(b.Length, 4096));
                var forged = new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F };
                return b[..at].Concat(forged).Concat(b[(at + 1)..]).ToArray();
        }
    }
}

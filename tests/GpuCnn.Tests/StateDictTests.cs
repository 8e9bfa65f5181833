using System.Buffers.Binary;
using System.Text;
using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Tensors;
using GpuCnn.Tests.Data;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>State dicts with torchvision's keys, and safetensors files: round trips, key reports, malformed files.</summary>
public class StateDictTests
{
    static Graph Net(int classes = 5)
    {
        var g = new Graph { Name = "small" };
        var x = g.Input(new Shape(2, 6, 6));
        x = g.Add(new Conv2d(2, 4, 3, 1, 1, bias: false, name: "conv"), x);
        x = g.Add(new BatchNorm2d(4, name: "bn"), x);
        x = g.Add(new ReLU("relu"), x);
        x = g.Add(new Flatten("flatten"), g.Add(new GlobalAvgPool2d("pool"), x));
        g.Output = g.Add(new Linear(4, classes, name: "fc"), x);
        return g;
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("resnet34")]
    [InlineData("alexnet")]
    [InlineData("vgg11")]
    [InlineData("vgg16")]
    public void Zoo_state_dict_keys_and_shapes_equal_torchvisions(string model)
    {
        var expected = TorchvisionStateDicts.Layouts[model].Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var actual = StateDict.Layout(ModelZoo.Create(model, 1000, 224, 3)).Select(e => $"{e.Key} [{string.Join(", ", e.Shape)}]").ToArray();
        Assert.Equal(expected, actual);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_trained_state_round_trips_through_safetensors_into_a_model_of_another_seed(string backend)
    {
        var dev = Backends.Get(backend);
        using var tmp = new TempDir();
        var x = GradCheck.RandomFloats(new Random(1), 4 * 72, 1.0);
        using var a = new Executor(Net(), dev, 4, new ExecutorOptions { Seed = 1 });
        var opt = new Optimizers.Sgd(a.Parameters, 0.1f);
        a.SetInput(x);
        a.SetLabels(new[] { 0, 1, 2, 3 });
        for (int k = 0; k < 2; k++) { a.Forward(); a.ComputeLoss(); a.Backward(); opt.Step(); }
        var dict = a.StateDict();
        Assert.Equal(new[] { "conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked", "fc.weight", "fc.bias" }, dict.Keys);
        Assert.Equal(2L, dict["bn.num_batches_tracked"].Int64s![0]);
        Assert.Empty(dict["bn.num_batches_tracked"].Shape);
        string path = tmp.File("small.safetensors");
        Safetensors.Save(path, dict, new Dictionary<string, string> { ["format"] = "pt" });

        var loaded = Safetensors.Load(path, out var meta);
        Assert.Equal("pt", meta["format"]);
        using var b = new Executor(Net(), dev, 4, new ExecutorOptions { Seed = 2 });
        var report = b.LoadStateDict(loaded);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unexpected);
        foreach (var (key, t) in dict) Assert.Equal(t.ToFloats(), b.StateDict()[key].ToFloats());
        a.Eval().SetInput(x);
        b.Eval().SetInput(x);
        a.Forward();
        b.Forward();
        Assert.Equal(a.GetOutput(), b.GetOutput());
    }

    [Fact]
    public void Loading_reports_each_missing_and_unexpected_key_and_every_shape_mismatch_with_both_shapes()
    {
        var dev = Backends.Get("cpu");
        using var ex = new Executor(Net(), dev, 2, new ExecutorOptions { Seed = 3 });
        var dict = ex.StateDict();
        var fcBefore = dict["fc.weight"].Floats!;
        dict.Remove("bn.running_var");
        dict["extra.weight"] = new StateTensor(new[] { 1 }, new[] { 1f });
        var strict = Assert.Throws<StateDictException>(() => ex.LoadStateDict(dict));
        Assert.Equal(new[] { "bn.running_var" }, strict.Missing);
        Assert.Equal(new[] { "extra.weight" }, strict.Unexpected);
        Assert.Contains("missing keys: bn.running_var", strict.Message);
        Assert.Contains("unexpected keys: extra.weight", strict.Message);

        dict["conv.weight"] = new StateTensor(new[] { 4, 2, 3, 3 }, Enumerable.Repeat(0.5f, 72).ToArray());
        var report = ex.LoadStateDict(dict, strict: false);
        Assert.Equal(new[] { "bn.running_var" }, report.Missing);
        Assert.Equal(new[] { "extra.weight" }, report.Unexpected);
        Assert.All(ex.StateDict()["conv.weight"].Floats!, v => Assert.Equal(0.5f, v));

        using var other = new Executor(Net(classes: 7), dev, 2);
        var mismatch = Assert.Throws<StateDictException>(() => other.LoadStateDict(ex.StateDict(), strict: false));
        Assert.Equal(new[] { "fc.weight: model [7, 4], dict [5, 4]", "fc.bias: model [7], dict [5]" }, mismatch.Mismatched);
        Assert.NotEqual(0.5f, other.StateDict()["conv.weight"].Floats![0]); // nothing written when it throws
        Assert.Equal(fcBefore, ex.StateDict()["fc.weight"].Floats!);
    }

    /// <summary>A safetensors file written by hand from the format's description: u64 length, JSON, raw data.</summary>
    static byte[] File(string json, byte[] data, ulong? forgedLength = null)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, forgedLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    [Fact]
    public void Files_in_the_format_as_written_elsewhere_read_with_every_float_and_integer_dtype()
    {
        using var tmp = new TempDir();
        var data = new List<byte>();
        data.AddRange(BitConverter.GetBytes(1.5f)); data.AddRange(BitConverter.GetBytes(-2f)); // F32 [2]
        data.AddRange(BitConverter.GetBytes((ushort)0x3C00)); data.AddRange(BitConverter.GetBytes((ushort)0xC000)); // F16 1, -2
        data.AddRange(BitConverter.GetBytes((ushort)0x3FC0)); // BF16 1.5
        data.AddRange(BitConverter.GetBytes(0.25)); // F64
        data.AddRange(BitConverter.GetBytes(7L)); // I64 scalar
        string json = ("{'__metadata__':{'format':'pt'},'b.h':{'dtype':'F16','shape':[2],'data_offsets':[8,12]}," +
                       "'a.w':{'dtype':'F32','shape':[1,2],'data_offsets':[0,8]},'c':{'dtype':'BF16','shape':[1],'data_offsets':[12,14]}," +
                       "'d':{'dtype':'F64','shape':[],'data_offsets':[14,22]},'n':{'dtype':'I64','shape':[],'data_offsets':[22,30]}}").Replace('\'', '"');
        var d = Safetensors.Load(tmp.Write("x.safetensors", File(json, data.ToArray())));
        Assert.Equal(new[] { "b.h", "a.w", "c", "d", "n" }, d.Keys);
        Assert.Equal(new[] { 1.5f, -2f }, d["a.w"].Floats);
        Assert.Equal(new[] { 1, 2 }, d["a.w"].Shape);
        Assert.Equal(new[] { 1f, -2f }, d["b.h"].Floats);
        Assert.Equal(new[] { 1.5f }, d["c"].Floats);
        Assert.Equal(new[] { 0.25f }, d["d"].Floats);
        Assert.Equal(new[] { 7L }, d["n"].Int64s);
    }

    public static TheoryData<string, string, int, string> Malformed => new()
    {
        { "past-end", """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8, "run past the end of the data (8 bytes)" },
        { "overlap", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "tensors 'a' [0, 8] and 'b' [4, 12] overlap" },
        { "bad-dtype", """{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", 8, "tensor 'w': unknown dtype 'F33'" },
        { "unsupported-dtype", """{"w":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}""", 8, "tensor 'w': dtype U8 is not supported" },
        { "shape-length", """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "shape [3] of F32 is 12 bytes, but data_offsets span 8" },
        { "huge-shape", """{"w":{"dtype":"F32","shape":[2000000000,2000000000],"data_offsets":[0,8]}}""", 8, "is 16000000000000000000 bytes, but data_offsets span 8" },
        { "reversed", """{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}""", 8, "bad data_offsets [8,0]" },
        { "not-json", """{"w":""", 8, "header is not valid JSON" },
        { "duplicate", """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, "tensor 'w' is listed twice" },
    };

    [Theory, MemberData(nameof(Malformed))]
    public void A_malformed_file_names_the_file_and_what_is_wrong(string name, string json, int dataBytes, string problem)
    {
        using var tmp = new TempDir();
        string path = tmp.Write(name + ".safetensors", File(json, new byte[dataBytes]));
        var e = Assert.Throws<DataFormatException>(() => Safetensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_forged_header_length_allocates_nothing_and_short_files_and_directories_are_refused()
    {
        using var tmp = new TempDir();
        string huge = tmp.Write("huge.safetensors", File("{}", new byte[16], forgedLength: 1UL << 62));
        string past = tmp.Write("past.safetensors", File("{}", Array.Empty<byte>(), forgedLength: 1000));
        string shortFile = tmp.Write("short.safetensors", new byte[5]);
        Safetensors.Load(tmp.Write("empty.safetensors", File("{}", Array.Empty<byte>()))); // warm up the JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFormatException>(() => Safetensors.Load(huge));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 16, "a forged header length must not allocate");
        Assert.Contains($"{huge}: header length {1UL << 62} exceeds the limit", e.Message);
        Assert.Contains("header length 1000 runs past the end of the file (10 bytes)", Assert.Throws<DataFormatException>(() => Safetensors.Load(past)).Message);
        Assert.Contains("truncated: 5 bytes", Assert.Throws<DataFormatException>(() => Safetensors.Load(shortFile)).Message);
        Assert.Contains($"{tmp.Path}: is a directory", Assert.Throws<DataFormatException>(() => Safetensors.Load(tmp.Path)).Message);
    }

    [Fact]
    public void Train_starts_from_a_safetensors_file_with_init_from()
    {
        using var tmp = new TempDir();
        var dev = Backends.Get("cpu");
        using (var ex = new Executor(LeNet5.Build(), dev, 1, new ExecutorOptions { Seed = 9 }))
            Safetensors.Save(tmp.File("lenet.safetensors"), ex.StateDict());
        string metrics = tmp.File("m.json");
        var o = new StringWriter();
        var err = new StringWriter();
        int code = GpuCnn.Cli.CommandLine.Run(new[] { "train", "lenet5", "--device", "cpu", "--steps", "2", "--seed", "1", "--data", "synthetic", "--synthetic-count", "128",
            "--init-from", tmp.File("lenet.safetensors"), "--metrics", metrics, "--save", tmp.File("ck") }, o, err);
        Assert.True(code == 0, err.ToString());
        // The run started from seed 9's weights, not seed 1's: its checkpoint's first step moved away from them.
        using var seed1 = new Executor(LeNet5.Build(), dev, 1, new ExecutorOptions { Seed = 1 });
        using var seed9 = new Executor(LeNet5.Build(), dev, 1, new ExecutorOptions { Seed = 9 });
        using var trained = new Executor(LeNet5.Build(), dev, 1);
        Checkpoint.Load(tmp.File("ck"), trained.Parameters);
        var w = trained.StateDict()["fc3.weight"].Floats!;
        double To(Executor e) => e.StateDict()["fc3.weight"].Floats!.Zip(w, (p, q) => Math.Abs(p - q)).Sum();
        Assert.True(To(seed9) < To(seed1) / 10, $"distance to seed 9's weights {To(seed9)}, to seed 1's {To(seed1)}");

        Safetensors.Save(tmp.File("wrong.safetensors"), new StateDict { ["fc3.weight"] = new StateTensor(new[] { 1 }, new[] { 0f }) });
        err = new StringWriter();
        code = GpuCnn.Cli.CommandLine.Run(new[] { "train", "lenet5", "--device", "cpu", "--steps", "1", "--data", "synthetic", "--synthetic-count", "64", "--init-from", tmp.File("wrong.safetensors") }, new StringWriter(), err);
        Assert.Equal(2, code);
        var line = err.ToString().TrimEnd();
        Assert.DoesNotContain('\n', line);
        Assert.Contains($"{tmp.File("wrong.safetensors")}: state dict does not match model 'lenet5': missing keys: conv1.weight", line);
        Assert.Contains("fc3.weight: model [10, 84], dict [1]", line);
    }
}

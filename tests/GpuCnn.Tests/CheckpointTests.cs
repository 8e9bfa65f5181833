using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Serialization;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

public class CheckpointTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "gpucnn-ckpt-" + Guid.NewGuid().ToString("N"));

    public CheckpointTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Trains two steps so that weights and momentum are non-trivial, saves, and returns what was saved.</summary>
    (string Path, List<float[]> Weights, IReadOnlyList<float[]> State) SaveTrained(string backend)
    {
        var dev = Backends.Get(backend);
        var g = LeNet5.Build();
        using var ex = new Executor(g, dev, 2);
        ex.Parameters.Initialize(3);
        using var opt = new Sgd(ex.Parameters, 0.1f, 0.9f);
        for (int i = 0; i < 2; i++)
        {
            ex.SetInput(GradCheck.RandomFloats(new Random(i), 2 * 784, 1));
            ex.SetLabels(new[] { 1, 7 });
            ex.Forward(); ex.ComputeLoss(); ex.Backward(); opt.Step();
        }
        string path = Path.Combine(dir, "lenet.ckpt");
        Checkpoint.Save(path, ex.Parameters, opt, epoch: 4);
        return (path, g.Parameters.Select(p => ex.Parameters.Get(p)).ToList(), opt.GetState());
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Round_trip_restores_bit_identical_weights_and_optimizer_state(string backend)
    {
        var (path, weights, state) = SaveTrained(backend);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp-*")); // the temporary file was renamed away
        var g = LeNet5.Build();
        using var store = new ParameterStore(g, new[] { Backends.Get(backend) });
        using var opt = new Sgd(store, 0.1f, 0.9f);
        var header = Checkpoint.Load(path, store, opt);
        Assert.Equal(4, header.Epoch);
        Assert.Equal("lenet5", header.Model);
        Assert.Equal(2, opt.Steps);
        var pars = g.Parameters;
        for (int i = 0; i < pars.Count; i++)
            Assert.Equal(weights[i].Select(BitConverter.SingleToInt32Bits), store.Get(pars[i]).Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(state[0], opt.GetState()[0]);
        Assert.Contains(state[0], v => v != 0); // momentum really was stored
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Loads_onto_a_two_device_placement(string backend)
    {
        var (path, weights, state) = SaveTrained(backend);
        var g = LeNet5.Build();
        foreach (var n in g.TopologicalOrder().SkipWhile(n => n.Name != "fc1")) n.Device = 1;
        using var store = new ParameterStore(g, new[] { Backends.Get(backend), Backends.Second(backend) });
        Assert.Equal(2, store.Slices.Count);
        using var opt = new Sgd(store, 0.1f, 0.9f);
        Checkpoint.Load(path, store, opt);
        var pars = g.Parameters;
        for (int i = 0; i < pars.Count; i++) Assert.Equal(weights[i], store.Get(pars[i]));
        // And back: save from two devices, load onto one, same state.
        string again = Path.Combine(dir, "two.ckpt");
        Checkpoint.Save(again, store, opt);
        var g1 = LeNet5.Build();
        using var one = new ParameterStore(g1, new[] { Backends.Get(backend) });
        using var opt1 = new Sgd(one, 0.1f, 0.9f);
        Checkpoint.Load(again, one, opt1);
        Assert.Equal(state[0], opt1.GetState()[0]);
    }

    [Fact]
    public void Corrupt_truncated_and_foreign_files_name_the_file_and_the_problem()
    {
        var (path, _, _) = SaveTrained("cpu");
        var bytes = File.ReadAllBytes(path);
        var g = LeNet5.Build();
        using var store = new ParameterStore(g, new[] { Backends.Get("cpu") });

        void Expect(byte[] content, string problem)
        {
            string bad = Path.Combine(dir, $"bad-{Guid.NewGuid():N}.ckpt");
            File.WriteAllBytes(bad, content);
            var e = Assert.Throws<DataFormatException>(() => Checkpoint.Load(bad, store));
            Assert.Contains(bad, e.Message);
            Assert.Contains(problem, e.Message);
        }

        Expect(bytes[..(bytes.Length / 2)], "checksum");
        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length - 100] ^= 0x40;
        Expect(flipped, "checksum");
        Expect("hello world, not a checkpoint"u8.ToArray(), "bad magic");
        var version = (byte[])bytes.Clone();
        version[8] = 99;
        Expect(version, "version 99");
        Expect(Array.Empty<byte>(), "bad magic");
    }

    [Fact]
    public void Checkpoint_of_another_model_is_refused()
    {
        var (path, _, _) = SaveTrained("cpu");
        var other = new Sequential(new Tensors.Shape(1, 28, 28), new Layers.Flatten(), new Layers.Linear(784, 10, name: "fc1"));
        using var store = new ParameterStore(other, new[] { Backends.Get("cpu") });
        var e = Assert.Throws<DataFormatException>(() => Checkpoint.Load(path, store));
        Assert.Contains(path, e.Message);
    }
}

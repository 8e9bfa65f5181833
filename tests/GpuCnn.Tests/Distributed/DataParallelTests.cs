using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Distributed;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests.Distributed;

/// <summary>The parts of data parallelism that run in one process: accumulation, buckets, shards, environment rules.</summary>
public class DataParallelTests
{
    /// <summary>Two accumulated micro-batches of 8 step as one batch of 16 (within float rounding) on every back end.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gradient_accumulation_equals_the_larger_batch(string backend)
    {
        var (train, _) = Mnist.LoadBundled();
        List<double> Run(int batch, int accum)
        {
            var opts = new TrainOptions { Epochs = 1, BatchSize = batch, GradAccum = accum, Seed = 3, MaxSteps = 5, LearningRate = 0.05f };
            using var t = new Trainer(LeNet5.Build(), Backends.Get(backend), opts) { RecordLosses = true };
            t.Fit(train.Subset(0, 256), null);
            Assert.Equal(accum > 1, t.Parallel is not null);
            return t.Losses;
        }
        var wide = Run(16, 1);
        var accumulated = Run(8, 2);
        Assert.Equal(5, accumulated.Count);
        for (int i = 0; i < wide.Count; i++)
            Assert.True(Math.Abs(wide[i] - accumulated[i]) <= 1e-5 * Math.Abs(wide[i]), $"step {i + 1}: {accumulated[i]:R} vs {wide[i]:R}");
        Assert.True(wide[^1] < wide[0], "the loss should fall");
    }

    /// <summary>
    /// With random layers (dropout, stochastic pooling) too: each accumulated micro-batch draws its part of the whole
    /// batch's numbers (Executor.SampleOffset), so two micro-batches of 8 still step as one batch of 16, on every back end.
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gradient_accumulation_with_random_layers_equals_the_larger_batch(string backend)
    {
        var (train, _) = Mnist.LoadBundled();
        static Graph Net() => new Sequential(new GpuCnn.Tensors.Shape(1, 28, 28),
            new GpuCnn.Layers.Conv2d(1, 6, 5, padding: 2, name: "conv1"), new GpuCnn.Layers.ReLU("relu1"),
            new GpuCnn.Layers.StochasticPool2d(2, name: "pool1"), new GpuCnn.Layers.Flatten("flatten"),
            new GpuCnn.Layers.Dropout(0.5f, "drop"), new GpuCnn.Layers.Linear(6 * 14 * 14, 10, name: "fc"));
        List<double> Run(int batch, int accum)
        {
            var opts = new TrainOptions { Epochs = 1, BatchSize = batch, GradAccum = accum, Seed = 3, MaxSteps = 4, LearningRate = 0.05f };
            using var t = new Trainer(Net(), Backends.Get(backend), opts) { RecordLosses = true };
            t.Fit(train.Subset(0, 256), null);
            return t.Losses;
        }
        var wide = Run(16, 1);
        var accumulated = Run(8, 2);
        var other = Run(16, 1).ToList();
        Assert.Equal(4, accumulated.Count);
        Assert.Equal(wide, other);
        for (int i = 0; i < wide.Count; i++)
            Assert.True(Math.Abs(wide[i] - accumulated[i]) <= 1e-5 * Math.Abs(wide[i]), $"step {i + 1}: {accumulated[i]:R} vs {wide[i]:R}");
    }

    /// <summary>Steps per epoch with accumulation: whole steps only, and the trainer's last-epoch arithmetic agrees.</summary>
    [Fact]
    public void An_epoch_has_whole_steps_of_k_micro_batches()
    {
        var (train, _) = Mnist.LoadBundled();
        var opts = new TrainOptions { Epochs = 1, BatchSize = 10, GradAccum = 3, Seed = 1, LrStepEpochs = 0 };
        using var t = new Trainer(LeNet5.Build(), Backends.Get("cpu"), opts);
        var r = t.Fit(train.Subset(0, 95), null); // 9 batches of 10: 3 steps, 5 images dropped
        Assert.Equal(3, r[0].Steps);
        Assert.Equal(3, t.Optimizer.Steps);
    }

    /// <summary>A communicator that sums with a fixed second rank whose gradients are all <c>Other</c>.</summary>
    sealed class PairCommunicator(float other) : ICommunicator
    {
        public int Calls;
        public int Rank => 0;
        public int Size => 2;
        public int LocalRank => 0;
        public string Description => "test pair";
        public void AllreduceSum(Span<float> data) { Calls++; for (int i = 0; i < data.Length; i++) data[i] += other; }
        public void AllreduceSum(Span<double> data) { for (int i = 0; i < data.Length; i++) data[i] += data[i]; }
        public void Broadcast(Span<float> data, int root = 0) { }
        public void Broadcast(Span<byte> data, int root = 0) { }
        public void Barrier() { }
        public void Abort(int exitCode) => throw new InvalidOperationException("abort");
        public void Dispose() { }
    }

    /// <summary>
    /// Every trainable gradient is summed and scaled exactly once, in place on the CPU and through page-locked staging
    /// on GPUs; BatchNorm's running statistics are left alone.
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gradient_sync_sums_and_scales_every_trainable_gradient_once(string backend)
    {
        var device = Backends.Get(backend);
        var g = new Sequential(new Tensors.Shape(2, 6, 6), new Layers.Conv2d(2, 4, 3, name: "conv"),
            new Layers.BatchNorm2d(4, name: "bn"), new Layers.ReLU(), new Layers.Flatten(), new Layers.Linear(64, 3, name: "fc"));
        using var ex = new Executor(g, device, 2, new ExecutorOptions { Seed = 1 });
        var store = ex.Parameters;
        var slice = store.Slices[0];
        var grads = Enumerable.Range(0, (int)slice.Length).Select(i => (float)(i % 7) - 3f).ToArray();
        slice.Grads.View.CopyFromCPU(device.Stream, grads);
        var comm = new PairCommunicator(1.5f);
        using var sync = new GradientSync(store, comm, 0.5f, bucketElements: 40);
        Assert.True(sync.Layout.Buckets.Count > 2, "several buckets");
        Assert.Equal(slice.TrainableLength, sync.Layout.Elements);
        sync.Begin();
        foreach (var layer in g.Layers.Reverse()) sync.OnGradientsReady(layer);
        sync.Finish();
        var after = new float[slice.Length];
        slice.Grads.View.CopyToCPU(device.Stream, after);
        for (int i = 0; i < after.Length; i++)
        {
            float expected = i < slice.TrainableLength ? (grads[i] + 1.5f) * 0.5f : grads[i];
            Assert.True(expected == after[i], $"element {i} of {slice.Length} (trainable {slice.TrainableLength}): {after[i]} != {expected}");
        }
        Assert.Equal(1, sync.Steps);
    }

    /// <summary>Buckets cut at parameter boundaries and where the biases begin, and cover the trainable range once.</summary>
    [Fact]
    public void Buckets_cover_the_trainable_gradients_at_parameter_boundaries()
    {
        using var ex = new Executor(LeNet5.Build(), Backends.Get("cpu"), 1, new ExecutorOptions { Seed = 1 });
        var slice = ex.Parameters.Slices[0];
        var layout = new GradientBuckets(ex.Parameters, 10_000);
        long at = 0;
        foreach (var b in layout.Buckets)
        {
            Assert.Equal(at, b.Start);
            Assert.True(b.Start >= slice.DecayedLength || b.Start + b.Length <= slice.DecayedLength, "a bucket never mixes weights and biases");
            at += b.Length;
        }
        Assert.Equal(slice.TrainableLength, at);
        foreach (var (p, offset) in slice.Entries.Where(e => e.Offset < slice.TrainableLength))
        {
            var b = layout.Buckets[layout.BucketOf(p)];
            Assert.True(b.Start <= offset && offset + p.Shape.Size <= b.Start + b.Length, $"{p.FullName} lies in its bucket");
        }
        var one = new GradientBuckets(ex.Parameters, long.MaxValue);
        Assert.Equal(2, one.Buckets.Count); // weights, biases
        Assert.Equal(slice.Entries.Count, one.Buckets.Sum(b => b.Parameters));
    }

    /// <summary>Shards are disjoint, together they are the unsharded epoch's batches, and each gets ⌊batches/N⌋.</summary>
    [Fact]
    public void Loader_shards_partition_the_batches_of_an_epoch()
    {
        var data = SyntheticData.Create(50, 1, 4, 4, 5, seed: 2);
        List<int[]> Labels(DataLoader l) => l.Epoch(3).Select(b => b.Labels.ToArray()).ToList();
        List<float[]> Images(DataLoader l) => l.Epoch(3).Select(b => b.Images.ToArray()).ToList();
        using var all = new DataLoader(data, 4, shuffle: true, seed: 9, dropLast: true);
        using var s0 = new DataLoader(data, 4, shuffle: true, seed: 9, dropLast: true) { Shard = (0, 3) };
        using var s2 = new DataLoader(data, 4, shuffle: true, seed: 9, dropLast: true) { Shard = (2, 3) };
        Assert.Equal(12, all.BatchesPerEpoch);
        Assert.Equal(4, s0.BatchesPerEpoch);
        var whole = Images(all);
        var first = Images(s0);
        var third = Images(s2);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(whole[3 * i], first[i]);
            Assert.Equal(whole[3 * i + 2], third[i]);
        }
        Assert.Equal(Labels(all)[5], Labels(new DataLoader(data, 4, shuffle: true, seed: 9, dropLast: true) { Shard = (2, 3) })[1]);
        Assert.Throws<ArgumentException>(() => new DataLoader(data, 4, shuffle: false, seed: 0, dropLast: false) { Shard = (0, 2) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(data, 4, shuffle: false, seed: 0, dropLast: true) { Shard = (2, 2) });
    }

    /// <summary>MPI is used only under a launcher; local ranks and libraries come from the launchers' variables.</summary>
    [Fact]
    public void The_environment_selects_the_communicator_library_and_local_rank()
    {
        Func<string, string?> Env(params (string, string)[] vars) => n => vars.FirstOrDefault(v => v.Item1 == n).Item2;
        Assert.False(Communicator.Launched(Env()));
        Assert.True(Communicator.Launched(Env(("OMPI_COMM_WORLD_SIZE", "2"))));
        Assert.True(Communicator.Launched(Env(("PMI_SIZE", "4"))));
        Assert.True(Communicator.Launched(Env(("PMIX_RANK", "0"))));
        Assert.Equal(3, Communicator.LocalRankOf(Env(("OMPI_COMM_WORLD_LOCAL_RANK", "3"))));
        Assert.Equal(1, Communicator.LocalRankOf(Env(("MPI_LOCALRANKID", "1"))));
        Assert.Equal(2, Communicator.LocalRankOf(Env(("SLURM_LOCALID", "2"))));
        Assert.Equal(0, Communicator.LocalRankOf(Env()));
        Assert.Equal("libmpi.so.40", MpiLibrary.Candidates(Env(("OMPI_COMM_WORLD_SIZE", "2")))[0]);
        Assert.Equal("libmpich.so.12", MpiLibrary.Candidates(Env(("PMI_SIZE", "2")))[0]);
        Assert.Equal(new[] { "/opt/x/libmpi.so" }, MpiLibrary.Candidates(Env(("GPUCNN_MPI_LIBRARY", "/opt/x/libmpi.so"))));
        using var single = Communicator.FromEnvironment(); // the test host is not an MPI job
        Assert.IsType<SingleProcessCommunicator>(single);
    }

    /// <summary>A rank takes cuda:&lt;local rank&gt; where GPUs exist (wrapping around), else the CPU accelerator.</summary>
    [Fact]
    public void Each_rank_takes_the_gpu_of_its_local_rank()
    {
        DeviceInfo Gpu(int i) => new(DeviceKind.Cuda, i, $"gpu{i}", 1 << 30, true, null);
        var cpu = new DeviceInfo(DeviceKind.Cpu, 0, "cpu", 0, true, null);
        Assert.Equal("cpu", RankDevice.Default(1, new[] { cpu }));
        Assert.Equal("cuda:1", RankDevice.Default(1, new[] { Gpu(0), Gpu(1), cpu }));
        Assert.Equal("cuda:0", RankDevice.Default(2, new[] { Gpu(0), Gpu(1), cpu }));
        Assert.Equal("cpu", RankDevice.Default(0, new[] { new DeviceInfo(DeviceKind.Cuda, 0, "old", 0, false, "too old"), cpu }));
    }
}

using System.Runtime.InteropServices;
using ILGPU.Runtime;
using GpuCnn.Graphs;
using GpuCnn.Kernels.Loss;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

public class ExecutorTests
{
    [Fact]
    public void LeNet5_shapes_and_parameter_count()
    {
        var g = LeNet5.Build();
        Assert.Equal(61706, g.ParameterCount);
        var shapes = g.TopologicalOrder().Select(n => n.Shape.ToString()).ToList();
        Assert.Equal(new[]
        {
            "[1, 28, 28]", "[6, 28, 28]", "[6, 28, 28]", "[6, 14, 14]", "[16, 10, 10]", "[16, 10, 10]", "[16, 5, 5]",
            "[400]", "[120]", "[120]", "[84]", "[84]", "[10]",
        }, shapes);
    }

    [Fact]
    public void Topological_order_puts_producers_first_and_prunes_dead_nodes()
    {
        var g = new Graph();
        var x = g.Input(new Shape(4));
        var dead = g.Add(new Linear(4, 2, name: "dead"), x);
        var a = g.Add(new Linear(4, 3, name: "a"), x);
        var b = g.Add(new ReLU("b"), a);
        var c = g.Add(new Tanh("c"), a);
        g.Output = g.Add(new Add(name: "out"), b, c);
        var order = g.TopologicalOrder().ToList();
        Assert.DoesNotContain(dead, order);
        foreach (var n in order)
            foreach (var i in n.Inputs) Assert.True(order.IndexOf(i) < order.IndexOf(n), $"{i.Name} must precede {n.Name}");
    }

    [Fact]
    public void Plan_never_overlaps_live_buffers_and_reuses_memory()
    {
        var dev = Backends.Get("cpu");
        foreach (bool training in new[] { true, false })
        {
            using var ex = new Executor(LeNet5.Build(), dev, 8, new ExecutorOptions { Training = training });
            var plan = ex.Plan.Buffers;
            for (int i = 0; i < plan.Count; i++)
                for (int j = i + 1; j < plan.Count; j++)
                {
                    var (p, q) = (plan[i], plan[j]);
                    bool liveTogether = p.First <= q.Last && q.First <= p.Last;
                    bool shareMemory = p.Offset < q.Offset + q.Size && q.Offset < p.Offset + p.Size;
                    Assert.False(liveTogether && shareMemory, $"{p.Name} and {q.Name} are live together but overlap in memory");
                }
            Assert.True(ex.PeakActivationBytes < ex.UnplannedActivationBytes,
                $"training={training}: planned {ex.PeakActivationBytes} B should beat {ex.UnplannedActivationBytes} B without reuse");
        }
    }

    /// <summary>Reused buffers must not corrupt values: a deep chain's results match the reference after several steps.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Reused_buffers_keep_values_intact(string backend)
    {
        var g = new Sequential(new Shape(2, 8, 8),
            new Conv2d(2, 4, 3, padding: 1), new ReLU(), new Conv2d(4, 4, 3, padding: 1), new Tanh(),
            new MaxPool2d(2), new Conv2d(4, 4, 3, padding: 1), new Sigmoid(), new AvgPool2d(2), new Flatten(), new Linear(16, 5));
        using (var ex = new Executor(g, Backends.Get(backend), 3))
            Assert.True(ex.PeakActivationBytes < ex.UnplannedActivationBytes);
        GradCheck.Graph(Backends.Get(backend), g, batch: 3);
    }

    [Fact]
    public void Forward_only_plan_is_smaller_than_training_plan()
    {
        var dev = Backends.Get("cpu");
        using var train = new Executor(LeNet5.Build(), dev, 16);
        using var infer = new Executor(LeNet5.Build(), dev, 16, new ExecutorOptions { Training = false });
        Assert.True(infer.PeakActivationBytes < train.PeakActivationBytes);
        Assert.Throws<InvalidOperationException>(() => infer.Backward());
    }

    /// <summary>
    /// Once warm, a training step allocates no device memory (every buffer was planned) and next to no host memory.
    /// </summary>
    [Fact]
    public void Steady_state_training_step_allocates_nothing()
    {
        using var dev = Backends.Private("cpu"); // counts pool allocations and launches: no other test may use it meanwhile
        using var ex = new Executor(LeNet5.Build(), dev, 4);
        ex.Parameters.Initialize(1);
        using var opt = new Sgd(ex.Parameters, 0.01f, 0.9f);
        var x = new float[4 * 784];
        var y = new[] { 1, 2, 3, 4 };
        void Step()
        {
            ex.SetInput(x);
            ex.SetLabels(y);
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
            opt.Step();
        }
        for (int i = 0; i < 3; i++) Step(); // past first-call and tiered-JIT allocations
        ex.Synchronize();
        int pool = dev.PoolAllocations;
        const int steps = 10;
        // The fewest bytes per step over a few rounds: what the executor allocates every step shows in each round,
        // a one-off of the runtime in at most some of them.
        long perStep = long.MaxValue, launchesPerStep = 0;
        for (int round = 0; round < 3; round++)
        {
            long launches = dev.LaunchCount;
            long host = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < steps; i++) Step();
            ex.Synchronize();
            perStep = Math.Min(perStep, (GC.GetAllocatedBytesForCurrentThread() - host) / steps);
            launchesPerStep = (dev.LaunchCount - launches) / steps;
        }
        Assert.Equal(pool, dev.PoolAllocations);

        // ILGPU's CPU launcher allocates per launch, more for wider arguments (a typed launch boxes its argument
        // struct). Bound the step by bare typed launches as wide as the widest kernel in it (a convolution's views and
        // prepared geometry), plus the two uploads; anything the executor itself allocated per step would show on top.
        var kernel = dev.LoadKernel<WideArgs>(WideKernel);
        using var buf = dev.Accelerator.Allocate1D<float>(16);
        using var lab = dev.Accelerator.Allocate1D<int>(1);
        var loss = new SoftmaxCrossEntropyArgs
        {
            Classes = 1, Logits = buf.View, Labels = lab.View, Loss = buf.View, Correct = buf.View, DLogits = buf.View, Scale = 1f,
        };
        var args = new WideArgs { A = loss, B = loss, C = loss };
        void Bare() => kernel.Launch(1, args);
        for (int i = 0; i < 10; i++) Bare();
        dev.Synchronize();
        long bare = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) Bare();
        dev.Synchronize();
        double perLaunch = (GC.GetAllocatedBytesForCurrentThread() - bare) / 200.0;
        Assert.True(perStep <= launchesPerStep * perLaunch + 1024,
            $"a warm step allocated {perStep} B for {launchesPerStep} launches; a bare launch of {Marshal.SizeOf<WideArgs>()} B of arguments allocates {perLaunch:F0} B");
    }

    /// <summary>An argument struct about as wide as a convolution's (its views and prepared geometry): 15 views, 6 scalars.</summary>
    public struct WideArgs
    {
        /// <summary>Filler.</summary>
        public SoftmaxCrossEntropyArgs A, B, C;
    }

    /// <summary>The yardstick launch: touches nothing.</summary>
    static void WideKernel(ILGPU.Index1D t, int n, int chunk, WideArgs a) { }

    /// <summary>
    /// An executor for another batch size shares the parameters: in eval mode every row's output, and its loss, is
    /// the same at batch 3 as at batch 5 (batch normalisation uses running statistics, dropout is off).
    /// </summary>
    [Fact]
    public void Other_batch_sizes_share_parameters_and_give_the_same_rows_in_eval_mode()
    {
        var g = new Sequential(new Shape(2, 8, 8),
            new Conv2d(2, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Dropout(0.5f),
            new Flatten(), new Linear(64, 6), new ReLU(), new Linear(6, 3));
        using var ex = new Executor(g, Backends.Get("cpu"), 5, new ExecutorOptions { Seed = 2 });
        ex.Parameters.Initialize(4);
        var x = GradCheck.RandomFloats(new Random(8), 5 * 128, 1);
        int[] labels = { 2, 0, 1, 1, 2 };
        // A training step first, so the running statistics are not their initial values.
        ex.SetInput(x);
        ex.SetLabels(labels);
        ex.Forward();
        ex.ComputeLoss();
        ex.Backward();
        ex.ReadStatistics();

        var small = ex.ForBatchSize(3);
        Assert.Same(small, ex.ForBatchSize(3));
        Assert.Same(ex, ex.ForBatchSize(5));
        Assert.Same(ex.Parameters, small.Parameters);
        Assert.Equal(3, small.BatchSize);
        ex.TrainingMode = false;
        small.TrainingMode = false;
        ex.SetInput(x);
        ex.SetLabels(labels);
        ex.Forward();
        ex.ComputeLoss();
        var five = ex.GetOutput();
        var fiveRows = ex.GetRowLosses();
        small.SetInput(x.AsSpan(0, 3 * 128));
        small.SetLabels(labels.AsSpan(0, 3));
        small.Forward();
        small.ComputeLoss();
        Assert.Equal(five.Take(3 * 3), small.GetOutput());
        Assert.Equal(fiveRows.Take(3), small.GetRowLosses());
        Assert.Equal(3, small.ReadStatistics().Count);
        Assert.Equal(5, ex.ReadStatistics().Count);
    }

    [Fact]
    public void Bad_input_shapes_name_the_layer_and_both_shapes()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new Sequential(new Shape(3, 28, 28), new Conv2d(1, 6, 5)));
        Assert.Contains("Conv2d 'conv2d1'", e.Message);
        Assert.Contains("[1, H, W]", e.Message);
        Assert.Contains("[3, 28, 28]", e.Message);

        var e2 = Assert.Throws<ShapeMismatchException>(() =>
            new Sequential(new Shape(1, 28, 28), new Conv2d(1, 6, 5), new Flatten(), new Linear(400, 10, name: "fc")));
        Assert.Contains("Linear 'fc'", e2.Message);
        Assert.Contains("[400]", e2.Message);
        Assert.Contains("[3456]", e2.Message);

        var e3 = Assert.Throws<ShapeMismatchException>(() => new Sequential(new Shape(1, 3, 3), new MaxPool2d(5, name: "p")));
        Assert.Contains("MaxPool2d 'p'", e3.Message);

        using var ex = new Executor(LeNet5.Build(), Backends.Get("cpu"), 2);
        var e4 = Assert.Throws<ShapeMismatchException>(() => ex.SetInput(new float[100]));
        Assert.Contains("[2, 1, 28, 28]", e4.Message);
        Assert.Contains("100", e4.Message);
        Assert.Throws<ShapeMismatchException>(() => ex.SetLabels(new[] { 1, 2, 3 }));
        Assert.Throws<ArgumentException>(() => ex.SetLabels(new[] { 1, 10 }));
    }

    [Fact]
    public void Placement_on_a_missing_device_is_a_clear_error()
    {
        var g = LeNet5.Build();
        g["fc2"].Device = 3;
        var e = Assert.Throws<ArgumentException>(() => new Executor(g, Backends.Get("cpu"), 2));
        Assert.Contains("fc2", e.Message);
        Assert.Contains("device 3", e.Message);
    }

    /// <summary>A cross-device edge becomes a transfer: LeNet-5 cut between two CPU accelerators trains exactly as unsplit.</summary>
    [Theory]
    [InlineData("pool1")]
    [InlineData("flatten")]
    [InlineData("fc2")]
    public void LeNet5_cut_across_two_devices_trains_like_one(string firstNodeOnSecondDevice)
    {
        var d0 = Backends.Get("cpu");
        var d1 = Backends.SecondCpu;
        var x = GradCheck.RandomFloats(new Random(5), 4 * 784, 1);
        int[] labels = { 3, 1, 4, 1 };

        List<float[]> Train(Graph g, IReadOnlyList<GpuCnn.Devices.ComputeDevice> devs, out List<double> losses)
        {
            using var ex = new Executor(g, devs, 4);
            ex.Parameters.Initialize(9);
            using var opt = new Sgd(ex.Parameters, 0.05f, 0.9f, 1e-3f);
            losses = new();
            for (int s = 0; s < 3; s++)
            {
                ex.SetInput(x);
                ex.SetLabels(labels);
                ex.Forward();
                ex.ComputeLoss();
                ex.Backward();
                opt.Step();
                var (l, _, n) = ex.ReadStatistics();
                losses.Add(l / n);
            }
            return g.Parameters.Select(p => ex.Parameters.Get(p)).ToList();
        }

        var single = Train(LeNet5.Build(), new[] { d0 }, out var l1);
        var split = LeNet5.Build();
        bool after = false;
        foreach (var n in split.TopologicalOrder())
        {
            if (n.Name == firstNodeOnSecondDevice) after = true;
            n.Device = after ? 1 : 0;
        }
        var two = Train(split, new[] { d0, d1 }, out var l2);
        using (var ex = new Executor(split, new[] { d0, d1 }, 4))
            Assert.NotEmpty(ex.Transfers);
        Assert.Equal(l1, l2);
        for (int i = 0; i < single.Count; i++) Assert.Equal(single[i], two[i]);
    }
}

/// <summary>The non-blocking uploader GPUs use for inputs and labels.</summary>
public class StagedUploadTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Uploads_arrive_in_order_through_both_slots_and_survive_a_length_change(string backend)
    {
        var dev = Backends.Get(backend);
        using var up = new GpuCnn.Devices.StagedUpload<float>(dev);
        using var a = dev.Accelerator.Allocate1D<float>(5);
        using var b = dev.Accelerator.Allocate1D<float>(3);
        var results = new List<float[]>();
        for (int round = 0; round < 5; round++)
        {
            var data = Enumerable.Range(0, 5).Select(i => round * 10f + i).ToArray();
            up.Upload(data, a.View);
            // The caller may overwrite its array at once: the data was staged.
            Array.Fill(data, -1f);
            results.Add(a.GetAsArray1D());
        }
        for (int round = 0; round < 5; round++)
            Assert.Equal(Enumerable.Range(0, 5).Select(i => round * 10f + i), results[round]);
        // Back-to-back uploads with no read between: slot reuse must wait for the copy two uploads earlier.
        var targets = Enumerable.Range(0, 4).Select(_ => dev.Accelerator.Allocate1D<float>(5)).ToList();
        var src = new float[5];
        for (int t = 0; t < targets.Count; t++)
        {
            Array.Fill(src, t + 0.5f);
            up.Upload(src, targets[t].View);
        }
        for (int t = 0; t < targets.Count; t++)
            Assert.All(targets[t].GetAsArray1D(), v => Assert.Equal(t + 0.5f, v));
        targets.ForEach(t => t.Dispose());
        up.Upload(new float[] { 7, 8, 9 }, b.View);
        Assert.Equal(new float[] { 7, 8, 9 }, b.GetAsArray1D());
        Assert.Throws<ArgumentException>(() => up.Upload(new float[4], b.View));
    }
}

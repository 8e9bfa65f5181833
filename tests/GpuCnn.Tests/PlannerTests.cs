using GpuCnn.Graphs;
using GpuCnn.Kernels;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Plans built and inspected without any device.</summary>
public class PlannerTests
{
    static void AssertNoLiveOverlap(Plan plan)
    {
        var b = plan.Buffers;
        for (int i = 0; i < b.Count; i++)
            for (int j = i + 1; j < b.Count; j++)
            {
                var (p, q) = (b[i], b[j]);
                if (p.Device != q.Device) continue;
                bool liveTogether = p.First <= q.Last && q.First <= p.Last;
                bool shareMemory = p.Offset < q.Offset + q.Size && q.Offset < p.Offset + p.Size;
                Assert.False(liveTogether && shareMemory, $"{p.Name} and {q.Name} are live together but overlap in memory");
            }
        for (int d = 0; d < plan.ArenaSizes.Count; d++)
            Assert.All(b.Where(x => x.Device == d), x => Assert.True(x.Offset + x.Size <= plan.ArenaSizes[d], $"{x.Name} ends past arena {d}"));
    }

    [Fact]
    public void LeNet5_buffers_reuse_memory_without_overlapping_live_ones()
    {
        var plan = Planner.Build(LeNet5.Build(), 1, 8);
        AssertNoLiveOverlap(plan);
        Assert.True(plan.PeakBytes < plan.UnplannedBytes, $"planned {plan.PeakBytes} B should beat {plan.UnplannedBytes} B without reuse");
        // Some buffers with disjoint lifetimes share memory: conv1's output is dead long before fc3's gradient is born.
        var b = plan.Buffers;
        Assert.Contains(b, p => b.Any(q => q != p && p.Offset < q.Offset + q.Size && q.Offset < p.Offset + p.Size));
        Assert.Equal(8 * 784, b[plan.Activation(plan.Graph["input"])].Size);
        // The forward steps end with the output layer, the loss follows, and backward runs in reverse from fc3.
        Assert.Equal("forward fc3", plan.Steps[plan.LossIndex - 1].Describe(plan));
        Assert.Equal("loss fc3", plan.Steps[plan.LossIndex].Describe(plan));
        Assert.Equal("backward fc3", plan.Steps[plan.LossIndex + 1].Describe(plan));
        Assert.Empty(plan.Transfers);
    }

    [Fact]
    public void An_executor_runs_exactly_the_planners_plan()
    {
        var g = LeNet5.Build();
        var plan = Planner.Build(g, new[] { "cpu:0" }, 4);
        using var ex = new Executor(g, Backends.Get("cpu"), 4);
        Assert.Equal(plan.Buffers, ex.Plan.Buffers);
        Assert.Equal(plan.ArenaSizes, ex.Plan.ArenaSizes);
        Assert.Equal(plan.Steps.Select(s => s.Describe(plan)), ex.Plan.Steps.Select(s => s.Describe(ex.Plan)));
        Assert.Equal(plan.PeakBytes, ex.PeakActivationBytes);
    }

    /// <summary>A residual edge: the first backward to reach a gradient overwrites it (β = 0), the next adds (β = 1).</summary>
    [Fact]
    public void Residual_gradient_is_overwritten_first_and_accumulated_after()
    {
        var g = new Graph();
        var x = g.Input(new Shape(4), "x");
        var h = g.Add(new Linear(4, 4, name: "h"), x);
        var f = g.Add(new Linear(4, 4, name: "f"), h);
        g.Output = g.Add(new Add(name: "sum"), h, f);
        var plan = Planner.Build(g, 1, 2);
        var back = plan.Steps.OfType<PlannedBackward>().ToDictionary(s => s.Node.Name);
        Assert.Equal(new[] { "sum", "f", "h" }, plan.Steps.OfType<PlannedBackward>().Select(s => s.Node.Name));
        Assert.Equal(new[] { 0f, 0f }, back["sum"].Betas); // writes dh and df first
        Assert.Equal(new[] { 1f }, back["f"].Betas);       // adds its share into dh
        Assert.Equal(plan.Gradient(h), back["f"].InputGradients[0]);
        Assert.Null(back["h"].InputGradients[0]);          // no input gradients asked for
        var withInput = Planner.Build(g, 1, 2, new ExecutorOptions { InputGradients = true });
        Assert.NotNull(withInput.Inputs[0].Gradient);
        Assert.Equal(new[] { 0f }, withInput.Steps.OfType<PlannedBackward>().Single(s => s.Node.Name == "h").Betas);
    }

    /// <summary>The towers placement crosses only the paper's edges, each gradient going back the way its activation came.</summary>
    [Fact]
    public void Two_towers_transfer_the_papers_edges_both_ways()
    {
        var g = ModelZoo.Create("alexnet-2tower", 10, 64);
        Placement.Towers(g, 2);
        var plan = Planner.Build(g, new[] { "gpu:0", "gpu:1" }, 2);
        AssertNoLiveOverlap(plan);
        var forward = plan.Transfers.Where(t => !t.Backward).Select(t => $"{t.Tensor} {t.From} -> {t.To}").OrderBy(s => s).ToList();
        Assert.Equal(new[]
        {
            "drop6a gpu:0 -> gpu:1", "drop6b gpu:1 -> gpu:0", "drop7b gpu:1 -> gpu:0",
            "pool2a gpu:0 -> gpu:1", "pool2b gpu:1 -> gpu:0", "pool5a gpu:0 -> gpu:1", "pool5b gpu:1 -> gpu:0",
        }, forward);
        var backward = plan.Transfers.Where(t => t.Backward).Select(t => $"{t.Tensor} {t.To} -> {t.From}").OrderBy(s => s).ToList();
        Assert.Equal(forward, backward);
        // The image goes from the host to both devices: a mirror filled by the upload, no transfer step.
        var input = Assert.Single(plan.Inputs);
        Assert.Equal(new[] { "input", "input@1" }, input.Uploads.Select(b => plan.Buffers[b].Name));
        // A transfer runs before the first forward step that reads its mirror; a gradient lands on the producer's device.
        foreach (var (t, i) in plan.Steps.Select((s, i) => (s, i)).Where(p => p.s is PlannedTransfer).Select(p => ((PlannedTransfer)p.s, p.i)))
        {
            int reader = plan.Steps.Select((s, k) => (s, k)).First(p => p.s is PlannedForward f && f.Inputs.Contains(t.Target)).k;
            Assert.True(i < reader, $"transfer of {plan.Buffers[t.Source].Name} must precede its reader");
        }
        Assert.All(plan.Steps.OfType<PlannedGradientTransfer>(), t =>
        {
            Assert.Equal(plan.Buffers[t.Target].Device, plan.Buffers[t.Staging].Device);
            Assert.Equal(BufferRole.Staging, plan.Buffers[t.Staging].Role);
        });
    }

    [Fact]
    public void ReLU_is_fused_into_its_producer_with_the_producers_epilogue()
    {
        var g = LeNet5.Build();
        var plan = Planner.Build(g, 1, 4);
        Assert.Equal(new[] { "relu1:conv1", "relu2:conv2", "relu3:fc1", "relu4:fc2" },
            plan.Fused.Select(kv => $"{kv.Key.Name}:{kv.Value.Name}").OrderBy(s => s));
        var forward = plan.Steps.OfType<PlannedForward>().ToDictionary(s => s.Node.Name);
        Assert.DoesNotContain("relu1", forward.Keys);
        Assert.True(forward["conv1"].Epilogue.IsEnabled);
        Assert.Equal(FusedActivation.Relu, forward["conv1"].Epilogue);
        Assert.False(forward["fc3"].Epilogue.IsEnabled);
        Assert.False(forward["pool1"].Epilogue.IsEnabled);
        // The ReLU shares its producer's memory and its backward masks the gradient in place.
        Assert.Equal(plan.Activation(g["conv1"]), plan.Activation(g["relu1"]));
        var relu = plan.Steps.OfType<PlannedBackward>().Single(s => s.Node.Name == "relu1");
        Assert.True(relu.InPlace);
        Assert.Equal(new[] { 0f }, relu.Betas);
        Assert.Equal(relu.OutputGradient, relu.InputGradients[0]);

        var plain = Planner.Build(LeNet5.Build(), 1, 4, new ExecutorOptions { FuseActivations = false });
        Assert.Empty(plain.Fused);
        Assert.All(plain.Steps.OfType<PlannedForward>(), s => Assert.False(s.Epilogue.IsEnabled));
        Assert.True(plan.PeakBytes < plain.PeakBytes);
    }

    [Fact]
    public void A_ReLU_on_a_shared_producer_or_another_device_is_not_fused()
    {
        var g = new Graph();
        var x = g.Input(new Shape(4), "x");
        var a = g.Add(new Linear(4, 4, name: "a"), x);
        g.Output = g.Add(new Add(name: "sum"), g.Add(new ReLU("r"), a), a); // a has two readers
        Assert.Empty(Planner.Build(g, 1, 2).Fused);

        var h = new Graph();
        var lin = h.Add(new Linear(4, 4, name: "lin"), h.Input(new Shape(4), "x"));
        var relu = h.Add(new ReLU("relu"), lin);
        h.Output = h.Add(new Linear(4, 2, name: "out"), relu);
        Assert.Equal("relu", Assert.Single(Planner.Build(h, 1, 2).Fused).Key.Name);
        relu.Device = 1;
        var split = Planner.Build(h, 2, 2);
        Assert.Empty(split.Fused);
        Assert.Contains(split.Transfers, t => t.Tensor == "lin" && !t.Backward);
    }

    [Fact]
    public void Inference_plan_has_no_backward_and_no_gradient_but_the_outputs()
    {
        var plan = Planner.Build(LeNet5.Build(), 1, 16, new ExecutorOptions { Training = false });
        var train = Planner.Build(LeNet5.Build(), 1, 16);
        Assert.Equal(plan.Steps.Count - 1, plan.LossIndex); // the loss is the last step
        Assert.Empty(plan.Steps.OfType<PlannedBackward>());
        Assert.Empty(plan.Steps.OfType<PlannedGradientTransfer>());
        // The loss still writes d loss / d output (a caller may read it); nothing else has a gradient.
        var grad = Assert.Single(plan.Buffers, b => b.Role == BufferRole.Gradient);
        Assert.Equal(plan.Gradient(plan.Output), plan.Buffers.ToList().IndexOf(grad));
        Assert.All(plan.Order.Where(n => n != plan.Output), n => Assert.Null(plan.Gradient(n)));
        Assert.True(plan.PeakBytes < train.PeakBytes);
        AssertNoLiveOverlap(plan);
    }

    [Fact]
    public void A_node_on_a_missing_device_is_a_clear_error()
    {
        var g = LeNet5.Build();
        g["fc2"].Device = 3;
        var e = Assert.Throws<ArgumentException>(() => Planner.Build(g, 2, 4));
        Assert.Contains("fc2", e.Message);
        Assert.Contains("device 3", e.Message);
        Assert.Throws<ArgumentException>(() => Planner.Build(LeNet5.Build(), 1, 0));
    }
}

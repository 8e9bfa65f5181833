using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>BatchNorm's num_batches_tracked counts every training forward, replayed CUDA-graph steps included.</summary>
public class BatchesTrackedTests
{
    static (Graph Graph, BatchNorm2d[] Norms) Net()
    {
        var g = new Graph { Name = "bn-net" };
        var bn1 = new BatchNorm2d(4, name: "bn1");
        var bn2 = new BatchNorm2d(4, name: "bn2");
        var x = g.Add(new ReLU("relu1"), g.Add(bn1, g.Add(new Conv2d(1, 4, 3, 1, 1, bias: false, name: "conv1"), g.Input(new Shape(1, 6, 6)))));
        x = g.Add(new ReLU("relu2"), g.Add(bn2, g.Add(new Conv2d(4, 4, 3, 1, 1, bias: false, name: "conv2"), x)));
        g.Output = g.Add(new Linear(4, 3, name: "fc"), g.Add(new Flatten("flatten"), g.Add(new GlobalAvgPool2d("pool"), x)));
        return (g, new[] { bn1, bn2 });
    }

    [Fact]
    public void A_replayed_training_forward_counts_as_one_and_an_eval_forward_as_none()
    {
        var (g, norms) = Net();
        using var ex = new Executor(g, Backends.Get("cpu"), 2);
        ex.SetInput(new float[2 * 36]);
        ex.Forward();
        ex.Forward();
        ulong step = ex.Step;
        // What the CUDA-graph replay path calls instead of Forward: no kernel runs on the host, the counters still move.
        ex.NoteReplayedForward();
        ex.NoteReplayedForward();
        ex.NoteReplayedForward();
        Assert.All(norms, bn => Assert.Equal(5, bn.NumBatchesTracked));
        Assert.Equal(step + 3, ex.Step);
        ex.Eval();
        ex.NoteReplayedForward();
        ex.Forward();
        Assert.All(norms, bn => Assert.Equal(5, bn.NumBatchesTracked));
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Training_with_cuda_graphs_counts_every_step(string backend)
    {
        // On CUDA the steps after the second are replays (this needs a GPU to mean anything); elsewhere the request falls back.
        var dev = Backends.Get(backend);
        var (g, norms) = Net();
        using var t = new Trainer(g, dev, new TrainOptions { BatchSize = 2, CudaGraphs = true, Seed = 5 });
        var x = GradCheck.RandomFloats(new Random(3), 2 * 36, 1.0);
        for (int s = 0; s < 5; s++)
        {
            t.Executor.SetInput(x);
            t.Executor.SetLabels(new[] { 0, 2 });
            t.RunStep();
        }
        if (backend == "cuda") Assert.True(t.CudaGraphReplays == 3, t.CudaGraphProblem ?? $"{t.CudaGraphReplays} replays");
        Assert.All(norms, bn => Assert.Equal(5, bn.NumBatchesTracked));
    }
}

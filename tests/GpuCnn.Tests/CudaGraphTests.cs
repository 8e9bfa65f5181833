using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>CUDA graph replay of training steps: eligibility and the clean fallback (capture itself needs CUDA).</summary>
public class CudaGraphTests
{
    static Trainer Make(GpuCnn.Graphs.Graph g, ComputeDevice dev, string optimizer = "sgd") =>
        new(g, dev, new GpuCnn.Training.TrainOptions { BatchSize = 4, CudaGraphs = true, Optimizer = optimizer, Seed = 5 });

    [Fact]
    public void Steps_that_cannot_be_replayed_say_why()
    {
        var dev = Backends.Get("cpu");
        using (var t = Make(ModelZoo.Create("alexnet", 10, 64), dev)) Assert.Contains("Dropout", t.CudaGraphProblem);
        using (var t = Make(LeNet5.Build(), dev, "adam")) Assert.Contains("per-step", t.CudaGraphProblem);
        using (var t = Make(LeNet5.Build(), dev)) Assert.Contains("CUDA device", t.CudaGraphProblem);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Training_with_graphs_requested_matches_training_without(string backend)
    {
        // On CUDA the steps after the second are replays; elsewhere the request falls back. Either way, same losses.
        var dev = Backends.Get(backend);
        var rng = new Random(8);
        var x = GradCheck.RandomFloats(rng, 4 * 784, 1);
        int[] y = { 0, 5, 2, 9 };
        List<double> Run(bool graphs)
        {
            using var t = new Trainer(LeNet5.Build(), dev, new GpuCnn.Training.TrainOptions { BatchSize = 4, CudaGraphs = graphs, Seed = 5 });
            var losses = new List<double>();
            for (int s = 0; s < 5; s++)
            {
                t.Executor.SetInput(x);
                t.Executor.SetLabels(y);
                t.RunStep();
                var (l, _, n) = t.Executor.ReadStatistics();
                losses.Add(l / n);
            }
            if (graphs && backend == "cuda") Assert.True(t.CudaGraphReplays == 3, t.CudaGraphProblem ?? $"{t.CudaGraphReplays} replays");
            Assert.Equal(5, t.Optimizer.Steps);
            return losses;
        }
        Assert.Equal(Run(false), Run(true));
    }
}

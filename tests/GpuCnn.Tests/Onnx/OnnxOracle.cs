using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tests.Infrastructure;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace GpuCnn.Tests.Onnx;

/// <summary>
/// ONNX Runtime as the oracle: runs a model's bytes on seeded inputs, next to GpuCnn's eval-mode forward pass of
/// the graph with the same weights.
/// </summary>
public static class OnnxOracle
{
    /// <summary>Output of ONNX Runtime for one input of shape [batch, ..sample].</summary>
    public static float[] Run(byte[] model, float[] input, int[] fullShape)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(model, options);
        string name = session.InputMetadata.Keys.Single();
        var value = NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(input, fullShape));
        using var results = session.Run(new[] { value });
        return results.First().AsTensor<float>().ToArray();
    }

    /// <summary>Seeded weights of the initialisation's scale, with BatchNorm's parameters and running statistics made non-trivial.</summary>
    public static Dictionary<string, float[]> Weights(Graph graph, int seed)
    {
        var rng = new Random(seed);
        var w = new Dictionary<string, float[]>();
        foreach (var p in graph.Parameters)
        {
            // Uniform ±√(3 / fan-in) (unit output variance), drawn by System.Random: the library's Philox initialisation
            // of AlexNet's 61M values would dominate these tests' time, and any seeded weights serve as well here.
            var v = new float[p.Shape.Size];
            double bound = Math.Sqrt(3.0 / Math.Max(1, p.FanIn));
            for (int i = 0; i < v.Length; i++) v[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
            if (p.Owner is BatchNorm2d bn)
            {
                for (int i = 0; i < v.Length; i++)
                    v[i] = p == bn.RunningVar ? 0.5f + (float)rng.NextDouble() : p == bn.RunningMean ? (float)(rng.NextDouble() - 0.5)
                        : p == bn.Weight ? 0.5f + (float)rng.NextDouble() : (float)(rng.NextDouble() - 0.5);
            }
            w[p.FullName] = v;
        }
        return w;
    }

    /// <summary>GpuCnn's eval-mode output of <paramref name="graph"/> with <paramref name="weights"/>, on <paramref name="device"/>.</summary>
    public static float[] Forward(Graph graph, IReadOnlyDictionary<string, float[]> weights, ComputeDevice device, float[] input, int batch)
    {
        using var ex = new Executor(graph, device, batch, new ExecutorOptions { Training = false });
        foreach (var p in graph.Parameters) ex.Parameters.Set(p, weights[p.FullName]);
        ex.SetInput(input);
        ex.Forward();
        return ex.GetOutput();
    }

    /// <summary>A seeded input batch for the graph's (single) input.</summary>
    public static (float[] Data, int[] Shape) Input(Graph graph, int batch, int seed)
    {
        var sample = graph.Inputs.Single().Shape;
        var data = GradCheck.RandomFloats(new Random(seed), (int)(batch * sample.Size), 1);
        return (data, sample.WithBatch(batch).ToArray());
    }

    /// <summary>Asserts that ONNX Runtime's output on <paramref name="model"/> equals GpuCnn's, at each batch size.</summary>
    public static void AssertMatches(Graph graph, IReadOnlyDictionary<string, float[]> weights, byte[] model, ComputeDevice device,
        double atol, double rtol, params int[] batches)
    {
        foreach (int batch in batches)
        {
            var (x, shape) = Input(graph, batch, 100 + batch);
            var ours = Forward(graph, weights, device, x, batch);
            var theirs = Run(model, x, shape);
            Assert.True(ours.Any(v => v != 0f), $"{graph.Name}: the output is all zeros, so the comparison would prove nothing");
            Close.Assert(theirs.Select(v => (double)v).ToList(), ours, atol, rtol, $"{graph.Name} batch {batch}: GpuCnn against ONNX Runtime");
        }
    }
}

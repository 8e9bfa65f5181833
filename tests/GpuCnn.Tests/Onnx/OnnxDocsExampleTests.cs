using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Models;
using GpuCnn.Serialization.Onnx;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace GpuCnn.Tests.Onnx;

/// <summary>docs/onnx.md's worked example, line for line, with a shorter training run.</summary>
public class OnnxDocsExampleTests
{
    [Fact]
    public void Train_export_and_run_with_onnx_runtime()
    {
        string path = Path.Combine(Path.GetTempPath(), $"gpucnn-docs-{Guid.NewGuid():N}.onnx");
        try
        {
            var (train, test) = Mnist.LoadBundled();
            using var trainer = new Trainer(LeNet5.Build(), Backends.Get("cpu"), new TrainOptions { Epochs = 1 });
            trainer.Fit(train.Subset(0, 256), null);
            OnnxExport.Save(trainer.Graph, trainer.Executor.Parameters, path);

            using var session = new InferenceSession(path);
            var image = test.Images.AsSpan(0, 784).ToArray().Select(v => (v - 0.1307f) / 0.3081f).ToArray();
            using var result = session.Run(new[] { NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(image, new[] { 1, 1, 28, 28 })) });
            var logits = result.First().AsTensor<float>().ToArray();

            using var ex = new Executor(trainer.Graph, Backends.Get("cpu"), 1, new ExecutorOptions { Training = false }, trainer.Executor.Parameters);
            ex.SetInput(image);
            ex.Forward();
            var ours = ex.GetOutput();
            Close.Assert(logits.Select(v => (double)v).ToList(), ours, 1e-5, 1e-4, "LeNet-5 logits, ONNX Runtime against GpuCnn");
            Assert.Equal(Array.IndexOf(ours, ours.Max()), Array.IndexOf(logits, logits.Max()));
        }
        finally { File.Delete(path); }
    }
}

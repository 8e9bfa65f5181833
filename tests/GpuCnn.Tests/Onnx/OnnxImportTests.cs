using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Serialization.Onnx;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests.Onnx;

/// <summary>Imported models compute what ONNX Runtime computes on the same file, train, and export back unchanged.</summary>
public class OnnxImportTests
{
    const double Atol = 1e-5, Rtol = 1e-4;

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Torch_style_graph_imports_and_matches_onnx_runtime(string backend)
    {
        var device = Backends.Get(backend);
        foreach (int lrnSize in new[] { 4, 5 })
        {
            var bytes = TorchStyleModels.Cnn(lrnSize: lrnSize);
            var model = OnnxImport.Load(bytes, "torch_style.onnx");
            Assert.Contains(model.Graph.Layers, l => l is LocalResponseNorm lrn && lrn.Size == lrnSize);
            Assert.Equal(2, model.Graph.Layers.Count(l => l is Linear));
            Assert.DoesNotContain(model.Graph.Layers, l => l is Dropout);
            OnnxOracle.AssertMatches(model.Graph, model.Weights, bytes, device, Atol, Rtol, 1, 3);
        }
    }

    public static TheoryData<string, int, int> RoundTripModels => new()
    {
        { "every-layer", 16, 3 }, { "lenet5", 28, 1 }, { "alexnet-2tower", 67, 3 }, { "resnet18", 32, 3 },
    };

    [Theory, MemberData(nameof(RoundTripModels))]
    public void Export_import_export_is_stable_and_matches_onnx_runtime(string name, int size, int channels)
    {
        var g = name == "every-layer" ? OnnxExportTests.EveryLayer() : ModelZoo.Create(name, 10, size, channels);
        var w = OnnxOracle.Weights(g, 11);
        var first = OnnxExport.ToBytes(g, p => w[p.FullName]);
        var model = OnnxImport.Load(first, name + ".onnx");
        var second = OnnxExport.ToBytes(model.Graph, p => model.Weights[p.FullName]);
        Assert.Equal(Describe(first), Describe(second));
        Assert.Equal(first, second);
        // Same layer names: Dropout is left out, a Linear that read an image gets its explicit Flatten, and an adaptive
        // pool with square windows comes back as AvgPool2d.
        var names = g.Layers.Where(l => l is not Dropout).Select(l => l.Name).ToList();
        Assert.Equal(names, model.Graph.Layers.Select(l => l.Name).Where(n => names.Contains(n) || !n.EndsWith("_flatten")));
        foreach (var p in model.Graph.Parameters) Assert.Equal(w[p.FullName], model.Weights[p.FullName]);
        // The big models' forward passes are compared in OnnxExportTests; identical bytes and layers make this the same model.
        if (name is "every-layer" or "lenet5")
            OnnxOracle.AssertMatches(model.Graph, model.Weights, first, Backends.Get("cpu"), Atol, Rtol, 2);
    }

    /// <summary>The model as text, one line per node, initialiser and value, so that a difference reads plainly.</summary>
    static string Describe(byte[] bytes)
    {
        var m = GpuCnn.Serialization.Onnx.Proto.ModelProto.Parser.ParseFrom(bytes);
        return string.Join("\n", m.Graph.Node.Select(n => $"{n.OpType} {n.Name} ({string.Join(", ", n.Input)}) -> {string.Join(", ", n.Output)} {n.Attribute}")
            .Concat(m.Graph.Initializer.Select(t => $"init {t.Name} [{string.Join(", ", t.Dims)}]"))
            .Concat(m.Graph.Input.Concat(m.Graph.Output).Select(v => $"value {v}")));
    }

    [Fact]
    public void Imported_lenet5_fine_tunes_on_mnist_and_its_accuracy_rises()
    {
        var device = Backends.Get("cpu");
        var lenet = LeNet5.Build();
        var path = Path.Combine(Path.GetTempPath(), $"gpucnn-lenet-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExport.Save(lenet, p => p.InitialValues(4), path);
            var model = OnnxImport.Load(path);
            var (train, test) = Mnist.LoadBundled();
            train = train.Subset(0, 1024);
            test = test.Subset(0, 300);
            var options = new TrainOptions { Epochs = 1, BatchSize = 32, LearningRate = 0.05f, Seed = 2, LrStepEpochs = 0 };
            using var trainer = new Trainer(model.Graph, device, options);
            model.CopyTo(trainer.Executor.Parameters);
            var before = trainer.Evaluate(test).Accuracy;
            trainer.Fit(train, null);
            var after = trainer.Evaluate(test).Accuracy;
            Assert.True(after > before + 0.3, $"accuracy {before:P1} before fine-tuning, {after:P1} after");
        }
        finally { File.Delete(path); }
    }
}

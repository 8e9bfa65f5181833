using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Serialization.Onnx;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace GpuCnn.Tests.Onnx;

/// <summary>Exported models run by ONNX Runtime give GpuCnn's eval-mode output, at two batch sizes (the batch axis is dynamic).</summary>
public class OnnxExportTests
{
    // Float32 sums in a different order: differences stay near 1e-6 of the values; 1e-4 relative is the bar.
    const double Atol = 1e-5, Rtol = 1e-4;

    [Fact]
    public void Onnx_runtime_native_library_loads()
    {
        var providers = OrtEnv.Instance().GetAvailableProviders();
        Assert.Contains("CPUExecutionProvider", providers);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Every_catalogue_layer_matches_onnx_runtime(string backend)
    {
        var device = Backends.Get(backend);
        var g = EveryLayer();
        var w = OnnxOracle.Weights(g, 5);
        var bytes = OnnxExport.ToBytes(g, p => w[p.FullName]);
        OnnxOracle.AssertMatches(g, w, bytes, device, Atol, Rtol, 1, 3);
    }

    public static TheoryData<string, string, int, int> Zoo => new()
    {
        { "cpu", "lenet5", 28, 1 },
        { "cpu", "alexnet", 64, 3 },
        { "cpu", "alexnet-2tower", 67, 3 },
        { "cpu", "resnet18", 32, 3 },
        { "cpu", "googlenet", 32, 3 },
        { "cuda", "lenet5", 28, 1 },
        { "opencl", "lenet5", 28, 1 },
    };

    [SkippableTheory, MemberData(nameof(Zoo))]
    public void Zoo_model_matches_onnx_runtime(string backend, string model, int size, int channels)
    {
        var device = Backends.Get(backend);
        var g = ModelZoo.Create(model, 10, size, channels);
        var w = OnnxOracle.Weights(g, 3);
        var path = Path.Combine(Path.GetTempPath(), $"gpucnn-{model}-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExport.Save(g, w, path);
            OnnxOracle.AssertMatches(g, w, File.ReadAllBytes(path), device, Atol, Rtol, 1, 2);
        }
        finally { File.Delete(path); }
    }

    /// <summary>The rest of the zoo, opt-in: VGG's 4096-wide classifiers (120M values) are slow to serialise and load.</summary>
    [SkippableTheory, Trait("Category", "Long")]
    [InlineData("vgg11", 32)]
    [InlineData("vgg16", 32)]
    [InlineData("resnet34", 32)]
    public void Large_zoo_model_matches_onnx_runtime(string model, int size)
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1",
            "long run (up to 15 s per model on 2 cores): set GPUCNN_LONG_TESTS=1 to include it");
        Zoo_model_matches_onnx_runtime("cpu", model, size, 3);
    }

    [Fact]
    public void Adaptive_pooling_that_does_not_divide_names_the_layer()
    {
        var g = new Sequential(new Shape(2, 7, 7), new AdaptiveAvgPool2d(3, 3, name: "squash"));
        var e = Assert.Throws<OnnxFormatException>(() => OnnxExport.ToBytes(g, p => p.InitialValues(1)));
        Assert.Contains("AdaptiveAvgPool2d 'squash'", e.Message);
        Assert.Contains("7×7", e.Message);
    }

    [Fact]
    public void Written_model_declares_opset_17_ir_8_and_a_dynamic_batch()
    {
        var g = LeNet5.Build();
        var model = OnnxExport.Build(g, p => p.InitialValues(1), new OnnxExportOptions(), "lenet5");
        Assert.Equal(8, model.IrVersion);
        Assert.Equal(17, model.OpsetImport.Single().Version);
        Assert.Equal("N", model.Graph.Input.Single().Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(g.Parameters.Select(p => p.FullName).OrderBy(n => n), model.Graph.Initializer.Select(t => t.Name).OrderBy(n => n));
    }

    /// <summary>One graph with every catalogue layer, in the geometries that differ between frameworks.</summary>
    public static Graph EveryLayer()
    {
        var g = new Graph { Name = "every-layer" };
        var x = g.Input(new Shape(3, 16, 16));
        var h = g.Add(new ReLU(), g.Add(new BatchNorm2d(8), g.Add(new Conv2d(3, 8, 3, padding: 1), x)));
        // An even kernel with 'same' padding (the odd pixel goes bottom/right), dilation and groups.
        h = g.Add(new LeakyReLU(0.1f), g.Add(new Conv2d(8, 8, 4, padding: Padding.Same, dilation: 2, groups: 2), h));
        var cat = g.Add(new Concat(4),
            g.Add(new MaxPool2d(3, 2, 1, ceilMode: true), h),
            g.Add(new AvgPool2d(3, 2, 1, ceilMode: true), h),
            g.Add(new MinPool2d(2, 2, 1), h),
            g.Add(new StochasticPool2d(3, 2, 1, ceilMode: true), h)); // [32, 9, 9]
        var a = g.Add(new ELU(0.7f), g.Add(new LocalResponseNorm(4, 1e-3f, 0.75f, 2f),
            g.Add(new Conv2d(32, 16, 1, bias: false), g.Add(new Tanh(), g.Add(new LocalResponseNorm(5), cat)))));
        var b = g.Add(new Sigmoid(), g.Add(new Conv2d(32, 16, 3, padding: 1), cat));
        var sum = g.Add(new Dropout(0.3f), g.Add(new Add(), a, b));
        var sm = g.Add(new Softmax(), sum); // over channels at every pixel
        var head1 = g.Add(new Linear(144, 10), g.Add(new Flatten(), g.Add(new AdaptiveAvgPool2d(3, 3), sm)));
        var gap = g.Add(new GlobalAvgPool2d(), sum);
        var head2 = g.Add(new Linear(16, 10), gap); // Linear flattens [16, 1, 1] itself
        var head3 = g.Add(new Linear(64, 10), g.Add(new AdaptiveAvgPool2d(2, 2), gap)); // a 1×1 input replicated (Tile)
        g.Output = g.Add(new Softmax(), g.Add(new Add(3), head1, head2, head3)); // three inputs: Sum
        return g;
    }
}

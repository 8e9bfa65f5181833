using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Optimizers;
using GpuCnn.Serialization;
using GpuCnn.Tensors;
using GpuCnn.Tests.Data;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>README's embedding example, as written there (the file name aside), checking its own result (chance is 6 of 64).</summary>
public class ReadmeExampleTests
{
    sealed class Residual : Module
    {
        readonly Conv2d conv;
        readonly BatchNorm2d bn;
        public Residual(int c)
        {
            conv = AddLayer("conv", new Conv2d(c, c, 3, 1, 1, bias: false));
            bn = AddLayer("bn", new BatchNorm2d(c));
        }
        public override Node Forward(Node x) => Relu(Apply(new Add(2, Qualify("add")), Apply(bn, Apply(conv, x)), x), "relu");
    }

    sealed class Net : Module
    {
        readonly Conv2d stem;
        readonly Module blocks;
        readonly Linear fc;
        public Net()
        {
            stem = AddLayer("stem", new Conv2d(1, 8, 3, 1, 1));
            blocks = AddModule("blocks", new SequentialModule(new Residual(8), new Residual(8)));
            fc = AddLayer("fc", new Linear(8, 10));
        }
        public override Node Forward(Node x) =>
            Apply(fc, Apply(new Flatten(Qualify("flatten")), Apply(new GlobalAvgPool2d(Qualify("pool")), blocks.Forward(Relu(Apply(stem, x), "relu")))));
    }

    /// <summary>README's block is samples/SaveLoadPredict's program (after its two comment lines), which SamplesTests runs.</summary>
    [Fact]
    public void The_readme_example_is_the_save_load_predict_sample_verbatim()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "GpuCnn.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no GpuCnn.sln above the tests");
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        int section = readme.IndexOf("### Modules, tensors", StringComparison.Ordinal);
        Assert.True(section >= 0, "README has no '### Modules, tensors' section");
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        string block = readme[start..readme.IndexOf("```\n", start, StringComparison.Ordinal)];
        var sample = File.ReadAllLines(Path.Combine(root, "samples", "SaveLoadPredict", "Program.cs"));
        Assert.All(sample.Take(2), l => Assert.StartsWith("//", l));
        Assert.Equal(block.TrimEnd(), string.Join("\n", sample.Skip(2)).TrimEnd());
        Assert.Contains("class Residual : Module", block);
        Assert.Contains("Safetensors.Save", block);
        Assert.Contains(".Predict(", block);
    }

    [Fact]
    public void The_residual_network_trains_saves_loads_and_predicts()
    {
        using var tmp = new TempDir();
        string file = tmp.File("net.safetensors");
        var device = Backends.Get("cpu");
        var data = SyntheticData.Create(256, 1, 8, 8, 10, seed: 1);
        using var model = new Net().ToExecutor(device, new Shape(1, 8, 8), batchSize: 32);
        var sgd = new Sgd(model.Parameters, 0.05f, momentum: 0.9f);
        for (int step = 0; step < 60; step++)
        {
            int b = step % 8;
            model.SetInput(data.Images.AsSpan(b * 32 * 64, 32 * 64));
            model.SetLabels(data.Labels.AsSpan(b * 32, 32));
            model.ZeroGrad(); model.Forward(); model.ComputeLoss(); model.Backward(); sgd.Step();
        }
        Safetensors.Save(file, model.StateDict());
        Assert.Contains("blocks.1.bn.num_batches_tracked", model.StateDict().Keys);

        using var loaded = new Net().ToExecutor(device, new Shape(1, 8, 8), batchSize: 32);
        loaded.LoadStateDict(Safetensors.Load(file));
        loaded.Eval();
        using var images = Tensor.FromArray(data.Images.AsSpan(0, 64 * 64), new Shape(64, 1, 8, 8), device);
        var predictions = loaded.Predict(images, k: 3);
        int correct = predictions.Select((p, i) => p.Classes[0] == data.Labels[i] ? 1 : 0).Sum();
        Assert.True(correct >= 24, $"{correct} of 64 training images classified correctly after 60 steps");
        model.Eval();
        using var a = model.Forward(images);
        using var c = loaded.Forward(images);
        Assert.Equal(a.ToArray(), c.ToArray());
    }
}

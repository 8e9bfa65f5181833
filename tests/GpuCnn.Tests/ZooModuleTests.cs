using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The zoo's GoogLeNet, VGG and LeNet-5 as module trees with torchvision's dotted names, and layers as leaf modules.</summary>
public class ZooModuleTests
{
    /// <summary>
    /// torchvision's googlenet state dict with aux_logits=False (its pretrained model), written out from googlenet.py:
    /// BasicConv2d = conv (no bias) + bn; Inception = branch1, branch2.0/.1, branch3.0/.1 (3×3), branch4.1.
    /// </summary>
    static IEnumerable<string> TorchvisionGoogLeNet(int classes)
    {
        IEnumerable<string> Basic(string p, int cin, int cout, int k)
        {
            yield return $"{p}.conv.weight [{cout}, {cin}, {k}, {k}]";
            foreach (var s in new[] { "weight", "bias", "running_mean", "running_var" }) yield return $"{p}.bn.{s} [{cout}]";
            yield return $"{p}.bn.num_batches_tracked []";
        }
        var keys = Basic("conv1", 3, 64, 7).Concat(Basic("conv2", 64, 64, 1)).Concat(Basic("conv3", 64, 192, 3)).ToList();
        var blocks = new (string, int, int, int, int, int, int, int)[]
        {
            ("3a", 192, 64, 96, 128, 16, 32, 32), ("3b", 256, 128, 128, 192, 32, 96, 64), ("4a", 480, 192, 96, 208, 16, 48, 64),
            ("4b", 512, 160, 112, 224, 24, 64, 64), ("4c", 512, 128, 128, 256, 24, 64, 64), ("4d", 512, 112, 144, 288, 32, 64, 64),
            ("4e", 528, 256, 160, 320, 32, 128, 128), ("5a", 832, 256, 160, 320, 32, 128, 128), ("5b", 832, 384, 192, 384, 48, 128, 128),
        };
        foreach (var (n, cin, c1, r3, c3, r5, c5, pp) in blocks)
        {
            string p = $"inception{n}";
            keys.AddRange(Basic($"{p}.branch1", cin, c1, 1));
            keys.AddRange(Basic($"{p}.branch2.0", cin, r3, 1));
            keys.AddRange(Basic($"{p}.branch2.1", r3, c3, 3));
            keys.AddRange(Basic($"{p}.branch3.0", cin, r5, 1));
            keys.AddRange(Basic($"{p}.branch3.1", r5, c5, 3));
            keys.AddRange(Basic($"{p}.branch4.1", cin, pp, 1));
        }
        keys.Add($"fc.weight [{classes}, 1024]");
        keys.Add($"fc.bias [{classes}]");
        return keys;
    }

    static string[] Keys(Graph g) => StateDict.Layout(g).Select(e => $"{e.Key} [{string.Join(", ", e.Shape)}]").ToArray();

    [Fact]
    public void Torchvisions_googlenet_has_its_state_dict_keys_shapes_and_parameter_count()
    {
        var g = GoogLeNet.BuildTorchvision();
        Assert.Equal(TorchvisionGoogLeNet(1000).ToArray(), Keys(g));
        Assert.Equal(6_624_904, g.ParameterCount); // torchvision's published count for googlenet
        Assert.Equal(new Shape(1000), g.Output.Shape);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Torchvisions_googlenet_runs_on_a_small_image(string backend)
    {
        var module = GoogLeNetModule.Torchvision(classes: 5);
        using var ex = module.Eval().ToExecutor(Backends.Get(backend), new Shape(3, 32, 32), 2);
        ex.SetInput(GradCheck.RandomFloats(new Random(1), 2 * 3 * 32 * 32, 1.0));
        ex.Forward();
        var y = ex.GetOutput();
        Assert.Equal(10, y.Length);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(y, v => v != 0f);
    }

    [Fact]
    public void The_papers_googlenet_is_a_tree_of_inception_blocks_that_keeps_its_layer_names()
    {
        var net = new GoogLeNetModule();
        var g = net.Build(new Shape(3, 224, 224));
        Assert.Equal(new[] { "conv1", "maxpool1", "lrn1", "conv2", "conv3", "lrn2", "maxpool2", "inception3a", "inception3b", "maxpool3",
            "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4", "inception5a", "inception5b", "avgpool", "dropout", "fc" },
            net.NamedChildren().Select(c => c.Name));
        var inception = (Inception)net.NamedChildren().Single(c => c.Name == "inception4c").Child;
        Assert.Equal(new[] { "branch1", "branch2", "branch3", "branch4" }, inception.NamedChildren().Select(c => c.Name));
        var layers = net.NamedLayers().ToDictionary(l => l.Path, l => l.Layer);
        // The state-dict key is the path; the name (the initialisation key) is the one the graph had before.
        Assert.Equal("inception3a.3x3", layers["inception3a.branch2.1.conv"].Name);
        Assert.Equal("inception3a.branch2.1.conv", layers["inception3a.branch2.1.conv"].StateName);
        Assert.Equal(new Shape(32, 16, 5, 5), ((Conv2d)layers["inception3a.branch3.1.conv"]).Weight.Shape);
        Assert.Equal("conv1", layers["conv1.conv"].Name);
        Assert.Contains("inception5b.branch4.1.conv.bias [128]", Keys(g));
        Assert.Equal(net.NamedParameters().Select(p => p.Name), Keys(g).Select(k => k[..k.IndexOf(' ')]));
    }

    [Fact]
    public void Vgg_is_features_avgpool_and_classifier_with_torchvisions_names()
    {
        var net = new VggModule(Vgg.Vgg11);
        var g = net.Build(new Shape(3, 224, 224));
        Assert.Equal(new[] { "features", "avgpool", "classifier" }, net.NamedChildren().Select(c => c.Name));
        var expected = TorchvisionStateDicts.Layouts["vgg11"].Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Select(k => k[..k.IndexOf(' ')]), net.NamedParameters().Select(p => p.Name));
        Assert.Equal(expected, Keys(g));
        Assert.Equal("conv8", net.NamedLayers().Single(l => l.Path == "features.18").Layer.Name);
        var small = new VggModule(Vgg.Vgg16, classes: 10, small: true);
        Assert.Equal(new[] { "features", "fc" }, small.NamedChildren().Select(c => c.Name));
        Assert.Equal(new Shape(10), small.Build(new Shape(3, 32, 32)).Output.Shape);
    }

    [Fact]
    public void LeNet5_is_a_module_with_the_tutorials_names()
    {
        var net = new LeNet5Module();
        var g = net.Build(new Shape(1, 28, 28));
        Assert.Equal(new[] { "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" },
            net.NamedParameters().Select(p => p.Name));
        Assert.Equal(61_706, g.ParameterCount);
        Assert.Equal(net.NamedParameters().Select(p => p.Name), net.Parameters().Select(p => p.FullName));
        Assert.Contains("at least 12×12", Assert.Throws<ArgumentException>(() => new LeNet5Module(imageSize: 8)).Message);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_layer_is_a_leaf_module_that_runs_on_its_own(string backend)
    {
        var conv = new Conv2d(2, 3, 3, padding: 1);
        var module = conv.AsModule();
        Assert.Equal(new[] { "weight", "bias" }, module.NamedParameters().Select(p => p.Name));
        Assert.Empty(module.Children());
        using var ex = module.ToExecutor(Backends.Get(backend), new Shape(2, 5, 5), 2, new ExecutorOptions { Seed = 3 });
        var x = GradCheck.RandomFloats(new Random(2), 2 * 2 * 5 * 5, 1.0);
        ex.SetInput(x);
        ex.Forward();
        var expected = Reference.Conv2d(GradCheck.ToDouble(x), new Shape(2, 2, 5, 5), GradCheck.ToDouble(ex.Parameters.Get(conv.Weight)),
            GradCheck.ToDouble(ex.Parameters.Get(conv.Bias!)), conv);
        Close.Assert(expected, ex.GetOutput(), 1e-5, 1e-4, "a Conv2d run as a module");
        var parent = new SequentialModule(new ReLU().AsModule(), new Linear(4, 2));
        Assert.Equal(new[] { "1.weight", "1.bias" }, parent.NamedParameters().Select(p => p.Name));
    }
}

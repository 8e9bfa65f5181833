using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Serialization;
using GpuCnn.Tensors;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Both AlexNets as module trees: torchvision's <see cref="AlexNetModule"/> and the paper's <see cref="AlexNetTwoTowerModule"/> of <see cref="AlexNetTower"/>s.</summary>
public class AlexNetModuleTests
{
    static string[] Keys(Graph g) => StateDict.Layout(g).Select(e => $"{e.Key} [{string.Join(", ", e.Shape)}]").ToArray();

    static string[] Names(IEnumerable<(string Name, Module Child)> children) => children.Select(c => c.Name).ToArray();

    /// <summary>
    /// FNV-1a (64-bit), in graph order, over every parameter's checkpoint name, shape and initialiser (kind, value, fans:
    /// with the seed, all its initial values depend on), and for tensors up to 2^20 values the bits of the first 256
    /// and the last initial value at <paramref name="seed"/>: any change of name, shape, initialiser or order changes it.
    /// </summary>
    static ulong Fingerprint(Graph g, int seed)
    {
        ulong h = 14695981039346656037UL;
        void Mix(ulong v) { for (int i = 0; i < 8; i++) { h ^= (v >> (8 * i)) & 0xFF; h *= 1099511628211UL; } }
        foreach (var p in g.Parameters)
        {
            // The initial values depend only on these (and the seed); the values themselves only of the smaller tensors, to stay fast.
            foreach (char c in $"{p.FullName} {p.Shape} {p.Init} {BitConverter.SingleToInt32Bits(p.InitValue)} {p.FanIn} {p.FanOut}") Mix(c);
            if (p.Shape.Size > 1 << 20) continue;
            var v = p.InitialValues(seed);
            Mix((ulong)v.Length);
            for (int i = 0; i < Math.Min(256, v.Length); i++) Mix((uint)BitConverter.SingleToInt32Bits(v[i]));
            Mix((uint)BitConverter.SingleToInt32Bits(v[^1]));
        }
        return h;
    }

    /// <summary>
    /// The module-built graphs start from the weights the flat builders gave before AlexNet became a module tree: the
    /// expected fingerprints were computed with those builders (commit 70a23f6) at seed 11. The node sequence, and each
    /// node's tower, is theirs too (here in part; ModelZooTests checks where the towers cross).
    /// </summary>
    [Fact]
    public void Module_built_alexnets_keep_the_flat_builders_initial_weights()
    {
        Assert.Equal(0x8FC6FC8F619AA5BCUL, Fingerprint(AlexNet.Build(1000, 224, 3), 11));
        Assert.Equal(0x02AB8CD6525B5A61UL, Fingerprint(AlexNet.Build(10, 63, 3, AlexNetInit.Paper), 11));
        Assert.Equal(0xA9CB37C6656AD224UL, Fingerprint(AlexNet.BuildTwoTower(1000, 224, 3), 11));
        var g = AlexNet.BuildTwoTower(10, 63, 3, AlexNetInit.Default);
        Assert.Equal(0xB4698B0B9F32615DUL, Fingerprint(g, 11));
        Assert.Equal(0x68A64BAF201F7246UL, Fingerprint(AlexNet.BuildTwoTower(10, 67, 1, AlexNetInit.Paper, lrn: false), 11));
        Assert.Equal(53, g.Nodes.Count);
        Assert.Equal("input conv1a relu1a lrn1a pool1a conv2a relu2a lrn2a pool2a conv1b", string.Join(" ", g.Nodes.Take(10).Select(n => n.Name)));
        Assert.Equal("cat7b fc7b relu7b drop7b cat8 fc8", string.Join(" ", g.Nodes.TakeLast(6).Select(n => n.Name)));
        Assert.Equal(20_209_034, g.ParameterCount);
    }

    [Fact]
    public void Torchvisions_alexnet_is_features_avgpool_and_classifier_with_its_keys()
    {
        var net = new AlexNetModule();
        Assert.Equal(new[] { "features", "avgpool", "classifier" }, Names(net.NamedChildren()));
        var features = net.NamedChildren().Single(c => c.Name == "features").Child;
        Assert.Equal(Enumerable.Range(0, 13).Select(i => i.ToString()), Names(features.NamedChildren()));
        Assert.Equal(Enumerable.Range(0, 7).Select(i => i.ToString()), Names(net.NamedChildren().Single(c => c.Name == "classifier").Child.NamedChildren()));
        var expected = TorchvisionStateDicts.Layouts["alexnet"].Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        // Parameters are named before the graph is built, as in PyTorch.
        Assert.Equal(expected.Select(k => k[..k.IndexOf(' ')]), net.NamedParameters().Select(p => p.Name));
        var g = net.Build(new Shape(3, 224, 224), "alexnet");
        Assert.Equal(expected, Keys(g));
        Assert.Equal(61_100_840, g.ParameterCount);
        var layers = net.NamedLayers().ToDictionary(l => l.Path, l => l.Layer);
        Assert.IsType<MaxPool2d>(layers["features.12"]);
        Assert.IsType<Dropout>(layers["classifier.0"]);
        Assert.Equal("conv2", layers["features.3"].Name); // the initialisation key the flat graph had
        Assert.Equal("features.3", layers["features.3"].StateName);
        Assert.Equal("fc8", layers["classifier.6"].Name);
        Assert.Equal(new Shape(1000), g.Output.Shape);
    }

    [Fact]
    public void The_papers_alexnet_is_two_towers_and_fc8()
    {
        var net = new AlexNetTwoTowerModule(classes: 10, imageSize: 224);
        Assert.Equal(new[] { "a", "b", "fc8" }, Names(net.NamedChildren()));
        Assert.Equal(new[] { 0, 1 }, net.Towers.Select(t => t.Tower));
        var tower = net.Towers[1];
        Assert.Equal(new[] { "conv1", "lrn1", "pool1", "conv2", "lrn2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "drop6", "fc7", "drop7" },
            Names(tower.NamedChildren()));
        var tree = net.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal(new[] { "a.conv1.weight", "a.conv1.bias", "a.conv2.weight", "a.conv2.bias" }, tree.Take(4));
        Assert.Equal(new[] { "b.fc7.weight", "b.fc7.bias", "fc8.weight", "fc8.bias" }, tree.TakeLast(4));
        Assert.Equal(2 * 7 * 2 + 2, tree.Count);

        var g = net.Build(new Shape(3, 224, 224), "alexnet-2tower");
        var keys = Keys(g);
        // The state dict is in graph order, which interleaves the towers; it has the tree's names and no others.
        Assert.Equal(tree.OrderBy(k => k, StringComparer.Ordinal), keys.Select(k => k[..k.IndexOf(' ')]).OrderBy(k => k, StringComparer.Ordinal));
        Assert.Contains("a.conv1.weight [48, 3, 11, 11]", keys);
        Assert.Contains("b.conv3.weight [192, 256, 3, 3]", keys);
        Assert.Contains("b.fc6.weight [2048, 9216]", keys);
        Assert.Contains("fc8.weight [10, 4096]", keys);
        var layers = net.NamedLayers().ToDictionary(l => l.Path, l => l.Layer);
        Assert.Equal("conv1b", layers["b.conv1"].Name); // checkpoints and initialisation keep the flat names
        Assert.Equal(new[] { "conv1b.weight", "conv1b.bias" }, layers["b.conv1"].Parameters.Select(p => p.FullName));
        // Every node a tower adds is on that tower; cat8 and fc8 are on tower 0.
        foreach (var n in g.Nodes.Where(n => !n.IsInput))
            Assert.Equal(n.Name is "cat8" or "fc8" ? 0 : n.Name.EndsWith('a') ? 0 : 1, n.Tower);
        Assert.Equal(new Shape(10), g.Output.Shape);
    }

    [Fact]
    public void The_two_tower_net_without_lrn_has_no_lrn_children_and_refuses_small_images()
    {
        var net = new AlexNetTwoTowerModule(classes: 10, imageSize: 63, lrn: false);
        Assert.DoesNotContain(net.Towers[0].NamedChildren(), c => c.Name.StartsWith("lrn", StringComparison.Ordinal));
        var g = net.Build(new Shape(3, 63, 63));
        Assert.DoesNotContain(g.Nodes, n => n.Name.StartsWith("lrn", StringComparison.Ordinal));
        Assert.Equal("[256]", g["cat6a"].Shape.ToString()); // pool5 is 1×1 at 63 pixels
        Assert.Contains("at least 63×63 pixels, got 62×62", Assert.Throws<ArgumentException>(() => new AlexNetTwoTowerModule(imageSize: 62)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlexNetTower(2, 3, 256));
    }
}

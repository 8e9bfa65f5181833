using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// One tower (one GPU of 2012) of the paper's AlexNet: conv1 (48 11×11/4 p2), ReLU, lrn1, pool1, conv2 (128 5×5 p2),
/// ReLU, lrn2, pool2, then, on both towers' conv2 maps, conv3 (192), conv4 (192), conv5 (128), each 3×3 p1 with ReLU,
/// pool5, and its halves of the classifier: fc6 and fc7 (2048 each, on both towers' outputs) with ReLU and dropout.
/// Children, in order: conv1, lrn1, pool1, conv2, lrn2, pool2, conv3, conv4, conv5, pool5, fc6, drop6, fc7, drop7
/// (no LRN children when it is left out). Every node it adds carries its <see cref="Node.Tower"/>, which
/// model-parallel placement (<c>--placement towers</c>) reads. Layers keep the names they had before the network
/// became a module tree (conv1a, lrn1a, …, drop7b), so each seed's initial weights stay the same.
/// </summary>
public sealed class AlexNetTower : Module
{
    readonly int tower;
    readonly string suffix;
    readonly Conv2d conv1, conv2, conv3, conv4, conv5;
    readonly LocalResponseNorm? lrn1, lrn2;
    readonly MaxPool2d pool1, pool2, pool5;
    readonly Linear fc6, fc7;
    readonly Dropout drop6, drop7;

    /// <summary>
    /// Tower <paramref name="tower"/> (0 is the paper's a, 1 is b) on <paramref name="channels"/>-channel images; its
    /// fc6 sees <paramref name="fc6Features"/> values (both towers' flattened pool5); <paramref name="lrn"/> false
    /// leaves out both LRN layers.
    /// </summary>
    public AlexNetTower(int tower, int channels, int fc6Features, bool lrn = true)
    {
        if (tower is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(tower), tower, "AlexNetTower: the tower is 0 (a) or 1 (b)");
        this.tower = tower;
        string s = suffix = tower == 0 ? "a" : "b";
        conv1 = AddLayer("conv1", new Conv2d(channels, 48, 11, 4, 2, name: $"conv1{s}"));
        if (lrn) lrn1 = AddLayer("lrn1", new LocalResponseNorm(5, 1e-4f, 0.75f, 2f, $"lrn1{s}"));
        pool1 = AddLayer("pool1", new MaxPool2d(3, 2, name: $"pool1{s}"));
        conv2 = AddLayer("conv2", new Conv2d(48, 128, 5, 1, 2, name: $"conv2{s}"));
        if (lrn) lrn2 = AddLayer("lrn2", new LocalResponseNorm(5, 1e-4f, 0.75f, 2f, $"lrn2{s}"));
        pool2 = AddLayer("pool2", new MaxPool2d(3, 2, name: $"pool2{s}"));
        conv3 = AddLayer("conv3", new Conv2d(256, 192, 3, 1, 1, name: $"conv3{s}"));
        conv4 = AddLayer("conv4", new Conv2d(192, 192, 3, 1, 1, name: $"conv4{s}"));
        conv5 = AddLayer("conv5", new Conv2d(192, 128, 3, 1, 1, name: $"conv5{s}"));
        pool5 = AddLayer("pool5", new MaxPool2d(3, 2, name: $"pool5{s}"));
        fc6 = AddLayer("fc6", new Linear(fc6Features, 2048, name: $"fc6{s}"));
        drop6 = AddLayer("drop6", new Dropout(0.5f, $"drop6{s}"));
        fc7 = AddLayer("fc7", new Linear(4096, 2048, name: $"fc7{s}"));
        drop7 = AddLayer("drop7", new Dropout(0.5f, $"drop7{s}"));
    }

    /// <summary>Which tower this is: 0 (a) or 1 (b).</summary>
    public int Tower => tower;

    Node On(Layer layer, params Node[] inputs)
    {
        var n = Apply(layer, inputs);
        n.Tower = tower;
        return n;
    }

    /// <summary>The tower's part before the first exchange: conv1 … pool2 on the image.</summary>
    public override Node Forward(Node x)
    {
        var h = On(new ReLU($"relu1{suffix}"), On(conv1, x));
        if (lrn1 is not null) h = On(lrn1, h);
        h = On(new ReLU($"relu2{suffix}"), On(conv2, On(pool1, h)));
        if (lrn2 is not null) h = On(lrn2, h);
        return On(pool2, h);
    }

    /// <summary>
    /// The concatenation of both towers' maps (<paramref name="a"/> then <paramref name="b"/>) that this tower's layer
    /// <paramref name="layer"/> (3, 6 or 7) reads, named <c>cat{layer}{a|b}</c>.
    /// </summary>
    public Node Exchange(int layer, Node a, Node b) => On(new Concat(2, $"cat{layer}{suffix}"), a, b);

    /// <summary>conv3 … pool5 and the flattening, on <paramref name="merged"/> (<see cref="Exchange"/> of both pool2 outputs).</summary>
    public Node Convolutions(Node merged)
    {
        var h = On(new ReLU($"relu3{suffix}"), On(conv3, merged));
        h = On(new ReLU($"relu4{suffix}"), On(conv4, h));
        h = On(new ReLU($"relu5{suffix}"), On(conv5, h));
        return On(new Flatten($"flat5{suffix}"), On(pool5, h));
    }

    /// <summary>fc6, ReLU and dropout on <paramref name="merged"/> (<see cref="Exchange"/> of both towers' flattened pool5).</summary>
    public Node Fc6(Node merged) => On(drop6, On(new ReLU($"relu6{suffix}"), On(fc6, merged)));

    /// <summary>fc7, ReLU and dropout on <paramref name="merged"/> (<see cref="Exchange"/> of both towers' fc6 outputs).</summary>
    public Node Fc7(Node merged) => On(drop7, On(new ReLU($"relu7{suffix}"), On(fc7, merged)));
}

/// <summary>
/// The paper's two-tower AlexNet (<see cref="AlexNet.BuildTwoTower(int, int, int)"/>) as a module tree: children
/// <c>a</c> and <c>b</c> (<see cref="AlexNetTower"/>s) and <c>fc8</c>, which reads both towers and belongs to tower
/// 0. State-dict keys follow the tree: <c>a.conv1.weight</c>, …, <c>b.fc7.bias</c>, <c>fc8.weight</c>, <c>fc8.bias</c>
/// (in graph order, which interleaves the towers). Layer names, and with them checkpoints (<c>--save</c>, keyed by
/// layer name: <c>conv1a.weight</c> …) and each seed's initial weights, are the ones the flat graph had.
/// </summary>
public sealed class AlexNetTwoTowerModule : Module
{
    readonly AlexNetTower a, b;
    readonly Linear fc8;

    /// <summary>
    /// The network for <paramref name="classes"/> classes on <paramref name="channels"/>-channel images of
    /// <paramref name="imageSize"/>² pixels (at least 63; fc6's width depends on it), initialised as
    /// <paramref name="init"/> says; <paramref name="lrn"/> false leaves out both LRN layers.
    /// </summary>
    public AlexNetTwoTowerModule(int classes = 1000, int imageSize = 224, int channels = 3, AlexNetInit init = AlexNetInit.Paper, bool lrn = true)
    {
        // conv1 (11×11/4 p2) then three 3×3/2 pools; conv2 to conv5 keep the size.
        int side = (imageSize + 4 - 11) / 4 + 1;
        for (int i = 0; i < 3; i++) side = (side - 3) / 2 + 1;
        if (imageSize < 63 || side < 1)
            throw new ArgumentException($"alexnet-2tower needs images of at least 63×63 pixels, got {imageSize}×{imageSize}");
        int features = 2 * 128 * side * side;
        a = AddModule("a", new AlexNetTower(0, channels, features, lrn));
        b = AddModule("b", new AlexNetTower(1, channels, features, lrn));
        fc8 = AddLayer("fc8", new Linear(4096, classes, name: "fc8"));
        if (init == AlexNetInit.Paper) AlexNet.InitializeAsThePaper(NamedLayers().Select(l => l.Layer));
    }

    /// <summary>Tower a (0) and tower b (1).</summary>
    public IReadOnlyList<AlexNetTower> Towers => new[] { a, b };

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        // The graph's node order is the flat builder's (both towers' conv1 … pool2, then both conv3 …), so plans and
        // per-step losses are unchanged.
        Node la = a.Forward(x), lb = b.Forward(x);
        Node ma = a.Exchange(3, la, lb), mb = b.Exchange(3, la, lb);
        Node ua = a.Convolutions(ma), ub = b.Convolutions(mb);
        Node fa = a.Fc6(a.Exchange(6, ua, ub)), fb = b.Fc6(b.Exchange(6, ua, ub));
        Node ga = a.Fc7(a.Exchange(7, fa, fb)), gb = b.Fc7(b.Exchange(7, fa, fb));
        var all = Apply(new Concat(2, "cat8"), ga, gb);
        all.Tower = 0;
        var y = Apply(fc8, all);
        y.Tower = 0;
        return y;
    }
}

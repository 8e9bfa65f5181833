using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>How an AlexNet's weights and biases start.</summary>
public enum AlexNetInit
{
    /// <summary>
    /// The framework's (PyTorch's) default: weights U(±1/√fan_in), biases 0. Each layer keeps the input's signal at
    /// a comparable scale, so the logits depend on the image from the first step.
    /// </summary>
    Default,
    /// <summary>
    /// Section 5 of the 2012 paper: every weight from N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the hidden fully
    /// connected layers, 0 elsewhere.
    /// </summary>
    Paper,
}

/// <summary>
/// AlexNet in its two historical forms, built from the module trees <see cref="AlexNetModule"/> (torchvision's) and
/// <see cref="AlexNetTwoTowerModule"/> (the paper's, one <see cref="AlexNetTower"/> per GPU of 2012).
/// </summary>
public static class AlexNet
{
    /// <summary>
    /// torchvision's one-tower AlexNet: conv 64 11×11/4 p2, pool 3/2, conv 192 5×5 p2, pool, conv 384, 256, 256 3×3 p1,
    /// pool, adaptive average pool to 6×6, dropout, FC 4096, dropout, FC 4096, FC classes.
    /// 61,100,840 parameters for 1,000 classes.
    /// </summary>
    public static Graph Build(int classes = 1000, int imageSize = 224, int channels = 3) =>
        Build(classes, imageSize, channels, AlexNetInit.Default);

    /// <summary>torchvision's AlexNet (see <see cref="Build(int, int, int)"/>) with the initialisation <paramref name="init"/>.</summary>
    public static Graph Build(int classes, int imageSize, int channels, AlexNetInit init) =>
        new AlexNetModule(classes, channels, init).Build(new Shape(channels, imageSize, imageSize), "alexnet");

    /// <summary>
    /// The 2012 paper's network (Krizhevsky, Sutskever and Hinton, Fig. 2): two towers with 48, 128, 192, 192 and 128
    /// kernels each, ReLU, LRN (5, 1e-4, 0.75, 2) after conv1 and conv2, overlapping 3×3/2 max pooling, FC 4096, 4096,
    /// classes with dropout on the outputs of the first two (each FC split 2048 + 2048 over the towers). The towers exchange data only where
    /// the paper has it: every conv3 kernel sees both towers' conv2 maps, and fc6, fc7 and fc8 see both towers.
    /// Tower nodes carry <see cref="Node.Tower"/> 0 or 1; fc8 belongs to tower 0. Initialised as the paper
    /// (<see cref="AlexNetInit.Paper"/>); see the other overload for the default initialisation and for leaving LRN out.
    /// </summary>
    public static Graph BuildTwoTower(int classes = 1000, int imageSize = 224, int channels = 3) =>
        BuildTwoTower(classes, imageSize, channels, AlexNetInit.Paper);

    /// <summary>
    /// The paper's two-tower network (see <see cref="BuildTwoTower(int, int, int)"/>) with the initialisation
    /// <paramref name="init"/>; <paramref name="lrn"/> false leaves out both LRN layers (an ablation).
    /// </summary>
    public static Graph BuildTwoTower(int classes, int imageSize, int channels, AlexNetInit init, bool lrn = true) =>
        new AlexNetTwoTowerModule(classes, imageSize, channels, init, lrn).Build(new Shape(channels, imageSize, imageSize), "alexnet-2tower");

    /// <summary>
    /// Section 5 of the paper: every weight from N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the hidden fully
    /// connected layers ("provides the ReLUs with positive inputs", which speeds up early learning), 0 elsewhere.
    /// Matches layers by their own names (conv2, conv2a, ...), which both modules give them.
    /// </summary>
    internal static void InitializeAsThePaper(IEnumerable<Layer> layers)
    {
        var ones = new[] { "conv2", "conv4", "conv5", "fc6", "fc7" };
        foreach (var layer in layers)
            foreach (var p in layer.Parameters)
            {
                if (p.Name == "weight") { p.Init = Init.Normal; p.InitValue = 0.01f; }
                else if (ones.Any(o => layer.Name.StartsWith(o, StringComparison.Ordinal))) { p.Init = Init.Constant; p.InitValue = 1f; }
                else p.Init = Init.Zeros;
            }
    }
}

/// <summary>
/// torchvision's AlexNet as a module tree: <c>features</c> (a sequential: conv, ReLU, pool, conv, ReLU, pool, conv,
/// ReLU, conv, ReLU, conv, ReLU, pool), <c>avgpool</c> (adaptive, 6×6) and <c>classifier</c> (Dropout, Linear, ReLU,
/// Dropout, Linear, ReLU, Linear), so the state-dict keys are torchvision's (<c>features.0.weight</c> …
/// <c>classifier.6.bias</c>). Layers keep the names they had before AlexNet became a module tree (conv1, relu_conv1,
/// pool1, …, fc6, fc7, fc8), so each seed's initial weights, and every per-step loss, stay the same.
/// </summary>
public sealed class AlexNetModule : Module
{
    readonly Module features;
    readonly AdaptiveAvgPool2d avgpool;
    readonly Module classifier;

    /// <summary>The network for <paramref name="classes"/> classes on <paramref name="channels"/>-channel images, initialised as <paramref name="init"/> says.</summary>
    public AlexNetModule(int classes = 1000, int channels = 3, AlexNetInit init = AlexNetInit.Default)
    {
        static Conv2d Conv(int cin, int cout, int k, int s, int p, string name) => new(cin, cout, k, s, p, name: name);
        features = AddModule("features", new SequentialModule(
            Conv(channels, 64, 11, 4, 2, "conv1"), new ReLU("relu_conv1"), new MaxPool2d(3, 2, name: "pool1"),
            Conv(64, 192, 5, 1, 2, "conv2"), new ReLU("relu_conv2"), new MaxPool2d(3, 2, name: "pool2"),
            Conv(192, 384, 3, 1, 1, "conv3"), new ReLU("relu_conv3"),
            Conv(384, 256, 3, 1, 1, "conv4"), new ReLU("relu_conv4"),
            Conv(256, 256, 3, 1, 1, "conv5"), new ReLU("relu_conv5"), new MaxPool2d(3, 2, name: "pool5")));
        avgpool = AddLayer("avgpool", new AdaptiveAvgPool2d(6, 6, "avgpool"));
        classifier = AddModule("classifier", new SequentialModule(
            new Dropout(0.5f, "drop6"), new Linear(256 * 36, 4096, name: "fc6"), new ReLU("relu6"),
            new Dropout(0.5f, "drop7"), new Linear(4096, 4096, name: "fc7"), new ReLU("relu7"),
            new Linear(4096, classes, name: "fc8")));
        if (init == AlexNetInit.Paper) AlexNet.InitializeAsThePaper(NamedLayers().Select(l => l.Layer));
    }

    /// <inheritdoc/>
    public override Node Forward(Node x) =>
        classifier.Forward(Apply(new Flatten("flatten"), Apply(avgpool, features.Forward(x))));
}

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

/// <summary>AlexNet in its two historical forms.</summary>
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
    public static Graph Build(int classes, int imageSize, int channels, AlexNetInit init)
    {
        var g = new Graph { Name = "alexnet" };
        var x = g.Input(new Shape(channels, imageSize, imageSize));
        // The last argument is torchvision's index in `features`, its state-dict prefix.
        Node C(Node h, int cin, int cout, int k, int s, int p, string name, int feature) =>
            g.Add(new ReLU($"relu_{name}"), g.Add(new Conv2d(cin, cout, k, s, p, name: name) { StateName = $"features.{feature}" }, h));
        x = C(x, channels, 64, 11, 4, 2, "conv1", 0);
        x = g.Add(new MaxPool2d(3, 2, name: "pool1"), x);
        x = C(x, 64, 192, 5, 1, 2, "conv2", 3);
        x = g.Add(new MaxPool2d(3, 2, name: "pool2"), x);
        x = C(x, 192, 384, 3, 1, 1, "conv3", 6);
        x = C(x, 384, 256, 3, 1, 1, "conv4", 8);
        x = C(x, 256, 256, 3, 1, 1, "conv5", 10);
        x = g.Add(new MaxPool2d(3, 2, name: "pool5"), x);
        x = g.Add(new AdaptiveAvgPool2d(6, 6, "avgpool"), x);
        x = g.Add(new Flatten("flatten"), x);
        x = g.Add(new Dropout(0.5f, "drop6"), x);
        x = g.Add(new ReLU("relu6"), g.Add(new Linear(256 * 36, 4096, name: "fc6") { StateName = "classifier.1" }, x));
        x = g.Add(new Dropout(0.5f, "drop7"), x);
        x = g.Add(new ReLU("relu7"), g.Add(new Linear(4096, 4096, name: "fc7") { StateName = "classifier.4" }, x));
        g.Output = g.Add(new Linear(4096, classes, name: "fc8") { StateName = "classifier.6" }, x);
        if (init == AlexNetInit.Paper) InitializeAsThePaper(g);
        return g;
    }

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
    public static Graph BuildTwoTower(int classes, int imageSize, int channels, AlexNetInit init, bool lrn = true)
    {
        var g = new Graph { Name = "alexnet-2tower" };
        var input = g.Input(new Shape(channels, imageSize, imageSize));
        var t = new Node[2];
        Node In(Node n, int tower) { n.Tower = tower; return n; }
        Node Add(int tower, Layer l, params Node[] ins) => In(g.Add(l, ins), tower);
        string[] ab = { "a", "b" };

        for (int k = 0; k < 2; k++)
        {
            string s = ab[k];
            var h = Add(k, new Conv2d(channels, 48, 11, 4, 2, name: $"conv1{s}"), input);
            h = Add(k, new ReLU($"relu1{s}"), h);
            if (lrn) h = Add(k, new LocalResponseNorm(5, 1e-4f, 0.75f, 2f, $"lrn1{s}"), h);
            h = Add(k, new MaxPool2d(3, 2, name: $"pool1{s}"), h);
            h = Add(k, new Conv2d(48, 128, 5, 1, 2, name: $"conv2{s}"), h);
            h = Add(k, new ReLU($"relu2{s}"), h);
            if (lrn) h = Add(k, new LocalResponseNorm(5, 1e-4f, 0.75f, 2f, $"lrn2{s}"), h);
            t[k] = Add(k, new MaxPool2d(3, 2, name: $"pool2{s}"), h);
        }
        // conv3 connects to all kernel maps of layer 2: each tower concatenates both towers' maps.
        var merged = new Node[2];
        for (int k = 0; k < 2; k++) merged[k] = Add(k, new Concat(2, $"cat3{ab[k]}"), t[0], t[1]);
        for (int k = 0; k < 2; k++)
        {
            string s = ab[k];
            var h = Add(k, new Conv2d(256, 192, 3, 1, 1, name: $"conv3{s}"), merged[k]);
            h = Add(k, new ReLU($"relu3{s}"), h);
            h = Add(k, new Conv2d(192, 192, 3, 1, 1, name: $"conv4{s}"), h);
            h = Add(k, new ReLU($"relu4{s}"), h);
            h = Add(k, new Conv2d(192, 128, 3, 1, 1, name: $"conv5{s}"), h);
            h = Add(k, new ReLU($"relu5{s}"), h);
            h = Add(k, new MaxPool2d(3, 2, name: $"pool5{s}"), h);
            t[k] = Add(k, new Flatten($"flat5{s}"), h);
        }
        int features = (int)t[0].Shape.Size * 2;
        // Dropout zeroes each tower's own fc6 and fc7 outputs (the paper's "first two fully-connected layers").
        Node[] FullyConnected(Node[] from, int inFeatures, string layer)
        {
            var outs = new Node[2];
            string id = layer[2..];
            for (int k = 0; k < 2; k++)
            {
                string s = ab[k];
                var cat = Add(k, new Concat(2, $"cat{id}{s}"), from[0], from[1]);
                var h = Add(k, new Linear(inFeatures, 2048, name: $"{layer}{s}"), cat);
                h = Add(k, new ReLU($"relu{id}{s}"), h);
                outs[k] = Add(k, new Dropout(0.5f, $"drop{id}{s}"), h);
            }
            return outs;
        }
        t = FullyConnected(t, features, "fc6");
        t = FullyConnected(t, 4096, "fc7");
        var all = Add(0, new Concat(2, "cat8"), t[0], t[1]);
        g.Output = Add(0, new Linear(4096, classes, name: "fc8"), all);
        if (init == AlexNetInit.Paper) InitializeAsThePaper(g);
        return g;
    }

    /// <summary>
    /// Section 5 of the paper: every weight from N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the hidden fully
    /// connected layers ("provides the ReLUs with positive inputs", which speeds up early learning), 0 elsewhere.
    /// </summary>
    static void InitializeAsThePaper(Graph g)
    {
        var ones = new[] { "conv2", "conv4", "conv5", "fc6", "fc7" };
        foreach (var layer in g.Layers)
            foreach (var p in layer.Parameters)
            {
                if (p.Name == "weight") { p.Init = Init.Normal; p.InitValue = 0.01f; }
                else if (ones.Any(o => layer.Name.StartsWith(o, StringComparison.Ordinal))) { p.Init = Init.Constant; p.InitValue = 1f; }
                else p.Init = Init.Zeros;
            }
    }
}

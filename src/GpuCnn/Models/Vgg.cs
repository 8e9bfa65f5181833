using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// VGG (Simonyan and Zisserman 2014) as torchvision builds it without batch norm: 3×3 convolutions with padding 1
/// and ReLU, 2×2 max pooling, adaptive average pooling to 7×7, then FC 4096, ReLU, dropout, FC 4096, ReLU, dropout,
/// FC classes, with torchvision's state-dict keys (<c>features.N</c>, <c>classifier.N</c>). vgg16 has 138,357,544 parameters for 1,000 classes. Below 64×64 input (CIFAR) the classifier is the
/// common small-image head instead: the 512 features straight into FC classes.
/// </summary>
public static class Vgg
{
    /// <summary>Configuration A (VGG-11).</summary>
    public static readonly int[] Vgg11 = { 64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0 };
    /// <summary>Configuration D (VGG-16); 0 marks a max pool.</summary>
    public static readonly int[] Vgg16 = { 64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0 };

    /// <summary>Builds a VGG from a configuration.</summary>
    public static Graph Build(string name, int[] config, int classes = 1000, int imageSize = 224, int channels = 3)
    {
        var g = new Graph { Name = name };
        var x = g.Input(new Shape(channels, imageSize, imageSize));
        int c = channels, conv = 0, pool = 0, feature = 0; // feature: the index in torchvision's `features`
        foreach (int v in config)
        {
            if (v == 0) { x = g.Add(new MaxPool2d(2, name: $"pool{++pool}"), x); feature++; continue; }
            conv++;
            x = g.Add(new Conv2d(c, v, 3, 1, 1, name: $"conv{conv}") { StateName = $"features.{feature}" }, x);
            feature += 2;
            x = g.Add(new ReLU($"relu{conv}"), x);
            c = v;
        }
        if (imageSize < 64)
        {
            x = g.Add(new Flatten("flatten"), x);
            g.Output = g.Add(new Linear((int)x.Shape.Size, classes, name: "fc"), x);
            return g;
        }
        x = g.Add(new AdaptiveAvgPool2d(7, 7, "avgpool"), x);
        x = g.Add(new Flatten("flatten"), x);
        x = g.Add(new ReLU("relu_fc1"), g.Add(new Linear(512 * 49, 4096, name: "fc1") { StateName = "classifier.0" }, x));
        x = g.Add(new Dropout(0.5f, "drop1"), x);
        x = g.Add(new ReLU("relu_fc2"), g.Add(new Linear(4096, 4096, name: "fc2") { StateName = "classifier.3" }, x));
        x = g.Add(new Dropout(0.5f, "drop2"), x);
        g.Output = g.Add(new Linear(4096, classes, name: "fc3") { StateName = "classifier.6" }, x);
        return g;
    }
}

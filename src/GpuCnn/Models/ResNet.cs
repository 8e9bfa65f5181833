using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// ResNet with basic blocks (He et al. 2016), as torchvision's resnet18/resnet34: conv 7×7/2 (no bias), BN, ReLU,
/// max pool 3/2 p1, four stages of basic blocks (3×3 conv, BN, ReLU, 3×3 conv, BN, + shortcut, ReLU; a 1×1/2 conv
/// and BN on the shortcut where the shape changes) with 64, 128, 256, 512 channels, global average pool, FC.
/// resnet18 has 11,689,512 parameters for 1,000 classes. Below 64×64 input the stem is the CIFAR one: conv 3×3/1 and
/// no max pool.
/// </summary>
public static class ResNet
{
    /// <summary>Builds a basic-block ResNet with the given blocks per stage ({2,2,2,2} for 18, {3,4,6,3} for 34).</summary>
    public static Graph Build(string name, int[] blocks, int classes = 1000, int imageSize = 224, int channels = 3)
    {
        var g = new Graph { Name = name };
        var x = g.Input(new Shape(channels, imageSize, imageSize));
        bool small = imageSize < 64;
        x = small ? g.Add(new Conv2d(channels, 64, 3, 1, 1, bias: false, name: "conv1"), x)
                  : g.Add(new Conv2d(channels, 64, 7, 2, 3, bias: false, name: "conv1"), x);
        x = g.Add(new ReLU("relu1"), g.Add(new BatchNorm2d(64, name: "bn1"), x));
        if (!small) x = g.Add(new MaxPool2d(3, 2, 1, name: "maxpool"), x);
        int c = 64;
        int[] widths = { 64, 128, 256, 512 };
        for (int stage = 0; stage < 4; stage++)
            for (int b = 0; b < blocks[stage]; b++)
            {
                int stride = stage > 0 && b == 0 ? 2 : 1, w = widths[stage];
                string p = $"layer{stage + 1}.{b}";
                var h = g.Add(new Conv2d(c, w, 3, stride, 1, bias: false, name: $"{p}.conv1"), x);
                h = g.Add(new ReLU($"{p}.relu1"), g.Add(new BatchNorm2d(w, name: $"{p}.bn1"), h));
                h = g.Add(new BatchNorm2d(w, name: $"{p}.bn2"), g.Add(new Conv2d(w, w, 3, 1, 1, bias: false, name: $"{p}.conv2"), h));
                var shortcut = x;
                if (stride != 1 || c != w)
                    shortcut = g.Add(new BatchNorm2d(w, name: $"{p}.downsample.1"),
                        g.Add(new Conv2d(c, w, 1, stride, 0, bias: false, name: $"{p}.downsample.0"), x));
                x = g.Add(new ReLU($"{p}.relu2"), g.Add(new Add(2, $"{p}.add"), h, shortcut));
                c = w;
            }
        x = g.Add(new Flatten("flatten"), g.Add(new GlobalAvgPool2d("avgpool"), x));
        g.Output = g.Add(new Linear(512, classes, name: "fc"), x);
        return g;
    }
}

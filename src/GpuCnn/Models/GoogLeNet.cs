using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// GoogLeNet / Inception v1 as in Szegedy et al. 2015, Table 1, without the auxiliary heads: every convolution is
/// followed by ReLU; LRN after the stem's pools; each Inception block concatenates a 1×1 branch, a 1×1→3×3 branch,
/// a 1×1→5×5 branch and a 3×3 max pool→1×1 branch; max pools use ceil mode; global average pool, dropout 0.4, FC.
/// </summary>
public static class GoogLeNet
{
    /// <summary>(1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection) for 3a … 5b, with a 0 entry marking a max pool.</summary>
    public static readonly (string Name, int C1, int R3, int C3, int R5, int C5, int Pool)[] Blocks =
    {
        ("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), ("pool3", 0, 0, 0, 0, 0, 0),
        ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
        ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128), ("pool4", 0, 0, 0, 0, 0, 0),
        ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128),
    };

    /// <summary>Builds the network; below 64×64 input the stem keeps resolution (3×3 conv, no pools).</summary>
    public static Graph Build(int classes = 1000, int imageSize = 224, int channels = 3)
    {
        var g = new Graph { Name = "googlenet" };
        var x = g.Input(new Shape(channels, imageSize, imageSize));
        Node Conv(Node h, int cin, int cout, int k, int s, int p, string name) =>
            g.Add(new ReLU($"{name}.relu"), g.Add(new Conv2d(cin, cout, k, s, p, name: name), h));
        if (imageSize < 64)
            x = Conv(x, channels, 192, 3, 1, 1, "conv1");
        else
        {
            x = Conv(x, channels, 64, 7, 2, 3, "conv1");
            x = g.Add(new LocalResponseNorm(5, 1e-4f, 0.75f, 1f, "lrn1"), g.Add(new MaxPool2d(3, 2, ceilMode: true, name: "pool1"), x));
            x = Conv(x, 64, 64, 1, 1, 0, "conv2");
            x = Conv(x, 64, 192, 3, 1, 1, "conv3");
            x = g.Add(new MaxPool2d(3, 2, ceilMode: true, name: "pool2"), g.Add(new LocalResponseNorm(5, 1e-4f, 0.75f, 1f, "lrn2"), x));
        }
        int c = 192;
        foreach (var b in Blocks)
        {
            if (b.C1 == 0) { x = g.Add(new MaxPool2d(3, 2, ceilMode: true, name: b.Name), x); continue; }
            string p = $"inception{b.Name}";
            var b1 = Conv(x, c, b.C1, 1, 1, 0, $"{p}.1x1");
            var b2 = Conv(Conv(x, c, b.R3, 1, 1, 0, $"{p}.3x3_reduce"), b.R3, b.C3, 3, 1, 1, $"{p}.3x3");
            var b3 = Conv(Conv(x, c, b.R5, 1, 1, 0, $"{p}.5x5_reduce"), b.R5, b.C5, 5, 1, 2, $"{p}.5x5");
            var b4 = Conv(g.Add(new MaxPool2d(3, 1, 1, ceilMode: true, name: $"{p}.pool"), x), c, b.Pool, 1, 1, 0, $"{p}.pool_proj");
            x = g.Add(new Concat(4, $"{p}.concat"), b1, b2, b3, b4);
            c = b.C1 + b.C3 + b.C5 + b.Pool;
        }
        x = g.Add(new Flatten("flatten"), g.Add(new GlobalAvgPool2d("avgpool"), x));
        x = g.Add(new Dropout(0.4f, "dropout"), x);
        g.Output = g.Add(new Linear(1024, classes, name: "fc"), x);
        return g;
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// ResNet with basic blocks (He et al. 2016), as torchvision's resnet18/resnet34: conv 7×7/2 (no bias), BN, ReLU,
/// max pool 3/2 p1, four stages of basic blocks (3×3 conv, BN, ReLU, 3×3 conv, BN, + shortcut, ReLU; a 1×1/2 conv
/// and BN on the shortcut where the shape changes) with 64, 128, 256, 512 channels, global average pool, FC.
/// resnet18 has 11,689,512 parameters for 1,000 classes. Below 64×64 input the stem is the CIFAR one: conv 3×3/1 and
/// no max pool. The network is the module tree <see cref="ResNetModule"/> of <see cref="BasicBlock"/>s.
/// </summary>
public static class ResNet
{
    /// <summary>Builds a basic-block ResNet with the given blocks per stage ({2,2,2,2} for 18, {3,4,6,3} for 34).</summary>
    public static Graph Build(string name, int[] blocks, int classes = 1000, int imageSize = 224, int channels = 3) =>
        new ResNetModule(blocks, classes, channels, small: imageSize < 64).Build(new Shape(channels, imageSize, imageSize), name);
}

/// <summary>torchvision's BasicBlock: conv1, bn1, ReLU, conv2, bn2, plus the shortcut (downsample.0/.1 where the shape changes), ReLU.</summary>
public sealed class BasicBlock : Module
{
    readonly Conv2d conv1, conv2;
    readonly BatchNorm2d bn1, bn2;
    readonly Module? downsample;

    /// <summary>A block from <paramref name="inChannels"/> to <paramref name="width"/> channels.</summary>
    public BasicBlock(int inChannels, int width, int stride)
    {
        conv1 = AddLayer("conv1", new Conv2d(inChannels, width, 3, stride, 1, bias: false));
        bn1 = AddLayer("bn1", new BatchNorm2d(width));
        conv2 = AddLayer("conv2", new Conv2d(width, width, 3, 1, 1, bias: false));
        bn2 = AddLayer("bn2", new BatchNorm2d(width));
        if (stride != 1 || inChannels != width)
            downsample = AddModule("downsample", new SequentialModule(new Conv2d(inChannels, width, 1, stride, 0, bias: false), new BatchNorm2d(width)));
    }

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        var h = Relu(Apply(bn1, Apply(conv1, x)), "relu1");
        h = Apply(bn2, Apply(conv2, h));
        var shortcut = downsample?.Forward(x) ?? x;
        return Relu(Apply(new Add(2, Qualify("add")), h, shortcut), "relu2");
    }
}

/// <summary>torchvision's ResNet of basic blocks: conv1, bn1, maxpool, layer1..layer4, avgpool, fc.</summary>
public sealed class ResNetModule : Module
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly MaxPool2d? maxpool;
    readonly Module[] stages = new Module[4];
    readonly GlobalAvgPool2d avgpool;
    readonly Linear fc;

    /// <summary>The network with <paramref name="blocks"/> per stage; <paramref name="small"/> selects the CIFAR stem.</summary>
    public ResNetModule(int[] blocks, int classes, int channels = 3, bool small = false)
    {
        conv1 = AddLayer("conv1", small ? new Conv2d(channels, 64, 3, 1, 1, bias: false) : new Conv2d(channels, 64, 7, 2, 3, bias: false));
        bn1 = AddLayer("bn1", new BatchNorm2d(64));
        if (!small) maxpool = AddLayer("maxpool", new MaxPool2d(3, 2, 1));
        int c = 64;
        int[] widths = { 64, 128, 256, 512 };
        for (int s = 0; s < 4; s++)
        {
            var stage = new object[blocks[s]];
            for (int b = 0; b < blocks[s]; b++, c = widths[s])
                stage[b] = new BasicBlock(c, widths[s], s > 0 && b == 0 ? 2 : 1);
            stages[s] = AddModule($"layer{s + 1}", new SequentialModule(stage));
        }
        avgpool = AddLayer("avgpool", new GlobalAvgPool2d());
        fc = AddLayer("fc", new Linear(512, classes));
    }

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        x = Relu(Apply(bn1, Apply(conv1, x)), "relu1");
        if (maxpool is not null) x = Apply(maxpool, x);
        foreach (var stage in stages) x = stage.Forward(x);
        return Apply(fc, Apply(new Flatten(Qualify("flatten")), Apply(avgpool, x)));
    }
}

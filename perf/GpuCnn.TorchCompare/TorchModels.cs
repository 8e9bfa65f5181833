using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GpuCnn.TorchCompare;

/// <summary>The zoo's models written in TorchSharp, layer for layer (their parameter counts are checked against GpuCnn's).</summary>
static class TorchModels
{
    public static Module<Tensor, Tensor> LeNet5(int classes = 10) => Sequential(
        Conv2d(1, 6, 5, padding: 2), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5), ReLU(), MaxPool2d(2), Flatten(),
        Linear(400, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, classes));

    /// <summary>torchvision's AlexNet.</summary>
    public static Module<Tensor, Tensor> AlexNet(int classes = 1000) => Sequential(
        Conv2d(3, 64, 11, stride: 4, padding: 2), ReLU(), MaxPool2d(3, 2),
        Conv2d(64, 192, 5, padding: 2), ReLU(), MaxPool2d(3, 2),
        Conv2d(192, 384, 3, padding: 1), ReLU(),
        Conv2d(384, 256, 3, padding: 1), ReLU(),
        Conv2d(256, 256, 3, padding: 1), ReLU(), MaxPool2d(3, 2),
        AdaptiveAvgPool2d(new long[] { 6, 6 }), Flatten(),
        Dropout(0.5), Linear(256 * 36, 4096), ReLU(),
        Dropout(0.5), Linear(4096, 4096), ReLU(), Linear(4096, classes));

    /// <summary>ResNet-18 with the CIFAR stem GpuCnn uses below 64×64: conv 3×3/1, no max pool.</summary>
    public static Module<Tensor, Tensor> ResNet18Cifar(int classes = 10)
    {
        var layers = new List<Module<Tensor, Tensor>> { Conv2d(3, 64, 3, stride: 1, padding: 1, bias: false), BatchNorm2d(64), ReLU() };
        int inCh = 64;
        foreach (var (width, stride) in new[] { (64, 1), (128, 2), (256, 2), (512, 2) })
        {
            layers.Add(new BasicBlock(inCh, width, stride));
            layers.Add(new BasicBlock(width, width, 1));
            inCh = width;
        }
        layers.Add(AdaptiveAvgPool2d(new long[] { 1, 1 }));
        layers.Add(Flatten());
        layers.Add(Linear(512, classes));
        return Sequential(layers.ToArray());
    }

    sealed class BasicBlock : Module<Tensor, Tensor>
    {
        readonly Module<Tensor, Tensor> conv1, bn1, conv2, bn2;
        readonly Module<Tensor, Tensor>? downsample;

        public BasicBlock(int inCh, int width, int stride) : base("BasicBlock")
        {
            conv1 = Conv2d(inCh, width, 3, stride: stride, padding: 1, bias: false);
            bn1 = BatchNorm2d(width);
            conv2 = Conv2d(width, width, 3, stride: 1, padding: 1, bias: false);
            bn2 = BatchNorm2d(width);
            if (stride != 1 || inCh != width)
                downsample = Sequential(Conv2d(inCh, width, 1, stride: stride, bias: false), BatchNorm2d(width));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var a = functional.relu(bn1.call(conv1.call(x)));
            using var b = bn2.call(conv2.call(a));
            var skip = downsample is null ? x : downsample.call(x);
            var sum = b + skip;
            if (downsample is not null) skip.Dispose();
            return functional.relu(sum);
        }
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// LeNet-5 (LeCun et al. 1998) in its modern form: conv 1→6 5×5 pad 2, ReLU, max-pool 2, conv 6→16 5×5, ReLU,
/// max-pool 2, FC 400→120, ReLU, FC 120→84, ReLU, FC 84→10. 61,706 parameters for 28×28 input. The network is the
/// module <see cref="LeNet5Module"/>.
/// </summary>
public static class LeNet5
{
    /// <summary>
    /// Builds the graph for <paramref name="channels"/>×<paramref name="imageSize"/>² input (28 for MNIST; 32 for
    /// CIFAR gives the original 5×5×16 before the classifier too) and <paramref name="classes"/> classes.
    /// </summary>
    public static Graph Build(int classes = 10, int channels = 1, int imageSize = 28) =>
        new LeNet5Module(classes, channels, imageSize).Build(new Shape(channels, imageSize, imageSize), "lenet5");
}

/// <summary>
/// LeNet-5 as a module, with the names of PyTorch's tutorial network: conv1, pool1, conv2, pool2, fc1, fc2, fc3 (and
/// its ReLUs relu1 … relu4 and flatten as stateless children, so the layers keep the names, and each seed the
/// weights, that LeNet-5 had as a chain of layers).
/// </summary>
public sealed class LeNet5Module : Module
{
    readonly Layer[] chain;

    /// <summary>The network for <paramref name="channels"/>×<paramref name="imageSize"/>² input and <paramref name="classes"/> classes.</summary>
    public LeNet5Module(int classes = 10, int channels = 1, int imageSize = 28)
    {
        // conv1 keeps the size (pad 2), pool halves it, conv2 (5×5 valid) takes 4, pool halves it again.
        int side = (imageSize / 2 - 4) / 2;
        if (side < 1) throw new ArgumentException($"LeNet-5 needs an input of at least 12×12, got {imageSize}×{imageSize}");
        chain = new Layer[]
        {
            AddLayer("conv1", new Conv2d(channels, 6, 5, padding: 2)), AddLayer("relu1", new ReLU()), AddLayer("pool1", new MaxPool2d(2)),
            AddLayer("conv2", new Conv2d(6, 16, 5)), AddLayer("relu2", new ReLU()), AddLayer("pool2", new MaxPool2d(2)),
            AddLayer("flatten", new Flatten()),
            AddLayer("fc1", new Linear(16 * side * side, 120)), AddLayer("relu3", new ReLU()),
            AddLayer("fc2", new Linear(120, 84)), AddLayer("relu4", new ReLU()),
            AddLayer("fc3", new Linear(84, classes)),
        };
    }

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        foreach (var l in chain) x = Apply(l, x);
        return x;
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// LeNet-5 (LeCun et al. 1998) in its modern form: conv 1→6 5×5 pad 2, ReLU, max-pool 2, conv 6→16 5×5, ReLU,
/// max-pool 2, FC 400→120, ReLU, FC 120→84, ReLU, FC 84→10. 61,706 parameters for 28×28 input.
/// </summary>
public static class LeNet5
{
    /// <summary>
    /// Builds the graph for <paramref name="channels"/>×<paramref name="imageSize"/>² input (28 for MNIST; 32 for
    /// CIFAR gives the original 5×5×16 before the classifier too) and <paramref name="classes"/> classes.
    /// </summary>
    public static Sequential Build(int classes = 10, int channels = 1, int imageSize = 28)
    {
        // conv1 keeps the size (pad 2), pool halves it, conv2 (5×5 valid) takes 4, pool halves it again.
        int side = (imageSize / 2 - 4) / 2;
        return new(new Shape(channels, imageSize, imageSize),
            new Conv2d(channels, 6, 5, padding: 2, name: "conv1"),
            new ReLU("relu1"),
            new MaxPool2d(2, name: "pool1"),
            new Conv2d(6, 16, 5, name: "conv2"),
            new ReLU("relu2"),
            new MaxPool2d(2, name: "pool2"),
            new Flatten("flatten"),
            new Linear(16 * side * side, 120, name: "fc1"),
            new ReLU("relu3"),
            new Linear(120, 84, name: "fc2"),
            new ReLU("relu4"),
            new Linear(84, classes, name: "fc3"))
        { Name = "lenet5" };
    }
}

using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// VGG (Simonyan and Zisserman 2014) as torchvision builds it without batch norm: 3×3 convolutions with padding 1
/// and ReLU, 2×2 max pooling, adaptive average pooling to 7×7, then FC 4096, ReLU, dropout, FC 4096, ReLU, dropout,
/// FC classes, with torchvision's state-dict keys (<c>features.N</c>, <c>classifier.N</c>). vgg16 has 138,357,544 parameters for 1,000 classes. Below 64×64 input (CIFAR) the classifier is the
/// common small-image head instead: the 512 features straight into FC classes. The network is the module tree
/// <see cref="VggModule"/>.
/// </summary>
public static class Vgg
{
    /// <summary>How VGG's weights start.</summary>
    public enum Initialization
    {
        /// <summary>
        /// torchvision's <c>VGG._initialize_weights</c>: convolution weights Kaiming normal with fan_out and ReLU's gain,
        /// N(0, 2 / (out_channels·9)); linear weights N(0, 0.01²); biases 0. Without batch norm, each convolution keeps
        /// the signal's scale, so the loss leaves ln(classes) from the first steps (docs/benchmarks.md, issue 12).
        /// </summary>
        Torchvision,
        /// <summary>The layers' own default (PyTorch's for Conv2d and Linear): U(±1/√fan_in), biases 0.</summary>
        Default,
    }

    /// <summary>Configuration A (VGG-11).</summary>
    public static readonly int[] Vgg11 = { 64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0 };
    /// <summary>Configuration D (VGG-16); 0 marks a max pool.</summary>
    public static readonly int[] Vgg16 = { 64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0 };

    /// <summary>Builds a VGG from a configuration.</summary>
    public static Graph Build(string name, int[] config, int classes = 1000, int imageSize = 224, int channels = 3) =>
        Build(name, config, classes, imageSize, channels, Initialization.Torchvision);

    /// <summary>Builds a VGG from a configuration with the initialisation <paramref name="init"/>.</summary>
    public static Graph Build(string name, int[] config, int classes, int imageSize, int channels, Initialization init) =>
        new VggModule(config, classes, channels, small: imageSize < 64, init).Build(new Shape(channels, imageSize, imageSize), name);
}

/// <summary>
/// torchvision's VGG as a module tree: <c>features</c> (a sequential of conv, ReLU and max pool; each stage is the run
/// of 3×3 convolutions up to its pool, flat as torchvision keeps them, so the keys are <c>features.N</c>),
/// <c>avgpool</c>, and <c>classifier</c> (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear). The small-image variant
/// has <c>fc</c> in place of avgpool and classifier. Layers keep the names they had before VGG became a module tree
/// (conv1, relu1, pool1, fc1, ...), so each seed's initial weights stay the same.
/// </summary>
public sealed class VggModule : Module
{
    readonly Module features;
    readonly AdaptiveAvgPool2d? avgpool;
    readonly Module? classifier;
    readonly Linear? fc;

    /// <summary>
    /// A VGG of <paramref name="config"/> (channels per conv, 0 for a max pool: <see cref="Vgg.Vgg11"/>), initialised as
    /// <paramref name="init"/> says (torchvision's by default).
    /// </summary>
    public VggModule(int[] config, int classes = 1000, int channels = 3, bool small = false, Vgg.Initialization init = Vgg.Initialization.Torchvision)
    {
        var layers = new List<object>();
        int c = channels, conv = 0, pool = 0;
        foreach (int v in config)
        {
            if (v == 0) { layers.Add(new MaxPool2d(2, name: $"pool{++pool}")); continue; }
            conv++;
            layers.Add(new Conv2d(c, v, 3, 1, 1, name: $"conv{conv}"));
            layers.Add(new ReLU($"relu{conv}"));
            c = v;
        }
        features = AddModule("features", new SequentialModule(layers.ToArray()));
        if (small)
        {
            // The input is 2^pools times the feature map's side; below 64 (32 with five pools) that is 1×1.
            fc = AddLayer("fc", new Linear(c, classes, name: "fc"));
        }
        else
        {
            avgpool = AddLayer("avgpool", new AdaptiveAvgPool2d(7, 7, "avgpool"));
            classifier = AddModule("classifier", new SequentialModule(
                new Linear(512 * 49, 4096, name: "fc1"), new ReLU("relu_fc1"), new Dropout(0.5f, "drop1"),
                new Linear(4096, 4096, name: "fc2"), new ReLU("relu_fc2"), new Dropout(0.5f, "drop2"),
                new Linear(4096, classes, name: "fc3")));
        }
        if (init == Vgg.Initialization.Torchvision) InitializeAsTorchvision(NamedLayers().Select(l => l.Layer));
    }

    // Biases are zeros already (the layers' default); only the weights' distributions change.
    static void InitializeAsTorchvision(IEnumerable<Layer> layers)
    {
        foreach (var layer in layers)
        {
            if (layer is Conv2d conv)
            {
                conv.Weight.Init = Init.Normal;
                conv.Weight.InitValue = MathF.Sqrt(2f / (conv.OutChannels * conv.KernelSize.H * conv.KernelSize.W));
            }
            else if (layer is Linear linear)
            {
                linear.Weight.Init = Init.Normal;
                linear.Weight.InitValue = 0.01f;
            }
        }
    }

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        x = features.Forward(x);
        if (fc is not null) return Apply(fc, Apply(new Flatten("flatten"), x));
        return classifier!.Forward(Apply(new Flatten("flatten"), Apply(avgpool!, x)));
    }
}

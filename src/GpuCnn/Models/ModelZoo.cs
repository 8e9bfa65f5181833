using GpuCnn.Graphs;

namespace GpuCnn.Models;

/// <summary>Models by name, for the CLI and checkpoints.</summary>
public static class ModelZoo
{
    /// <summary>How a model is built: classes, image size, channels.</summary>
    public delegate Graph Builder(int classes, int imageSize, int channels);

    static readonly Dictionary<string, (Builder Build, int DefaultSize, int DefaultChannels, int DefaultClasses)> Models =
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["lenet5"] = ((k, s, c) => LeNet5.Build(k, c, s), 28, 1, 10),
            ["alexnet"] = ((k, s, c) => AlexNet.Build(k, s, c), 224, 3, 1000),
            ["alexnet-2tower"] = ((k, s, c) => AlexNet.BuildTwoTower(k, s, c), 224, 3, 1000),
            ["vgg11"] = ((k, s, c) => Vgg.Build("vgg11", Vgg.Vgg11, k, s, c), 224, 3, 1000),
            ["vgg16"] = ((k, s, c) => Vgg.Build("vgg16", Vgg.Vgg16, k, s, c), 224, 3, 1000),
            ["googlenet"] = ((k, s, c) => GoogLeNet.Build(k, s, c), 224, 3, 1000),
            ["resnet18"] = ((k, s, c) => ResNet.Build("resnet18", new[] { 2, 2, 2, 2 }, k, s, c), 224, 3, 1000),
            ["resnet34"] = ((k, s, c) => ResNet.Build("resnet34", new[] { 3, 4, 6, 3 }, k, s, c), 224, 3, 1000),
        };

    /// <summary>
    /// The default SGD learning rate for a batch size: a base rate at a reference batch, scaled linearly with the batch
    /// (Goyal et al. 2017). LeNet-5: 0.03 at 64 (measured on the bundled digits); AlexNet: the paper's 0.01 at 128;
    /// the others: 0.01 at 128 as a conservative start.
    /// </summary>
    public static float DefaultLearningRate(string name, int batchSize)
    {
        if (!Models.ContainsKey(name)) throw Unknown(name);
        var (rate, reference) = name.Equals("lenet5", StringComparison.OrdinalIgnoreCase) ? (0.03f, 64) : (0.01f, 128);
        return rate * batchSize / reference;
    }

    /// <summary>The names of the models available.</summary>
    public static IReadOnlyList<string> Names => Models.Keys.ToList();

    /// <summary>The native input size, channel count and class count of a model (e.g. 224, 3, 1000).</summary>
    public static (int ImageSize, int Channels, int Classes) Defaults(string name) =>
        Models.TryGetValue(name, out var m) ? (m.DefaultSize, m.DefaultChannels, m.DefaultClasses) : throw Unknown(name);

    /// <summary>Builds a model by name; omitted sizes take the model's defaults.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid choices.</exception>
    public static Graph Create(string name, int? classes = null, int? imageSize = null, int? channels = null)
    {
        if (!Models.TryGetValue(name, out var m)) throw Unknown(name);
        return m.Build(classes ?? m.DefaultClasses, imageSize ?? m.DefaultSize, channels ?? m.DefaultChannels);
    }

    static ArgumentException Unknown(string name) =>
        new($"unknown model '{name}'; valid choices: {string.Join(", ", Models.Keys)}");
}

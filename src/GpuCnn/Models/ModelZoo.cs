using GpuCnn.Graphs;

namespace GpuCnn.Models;

/// <summary>A default training recipe (see <see cref="ModelZoo.DefaultRecipe"/>).</summary>
/// <param name="Optimizer">sgd, adam or adamw.</param>
/// <param name="LearningRate">The base learning rate at the batch size asked for.</param>
public sealed record Recipe(string Optimizer, float LearningRate);

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
            ["alexnet-2tower"] = ((k, s, c) => AlexNet.BuildTwoTower(k, s, c, AlexNetInit.Default), 224, 3, 1000),
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

    /// <summary>
    /// A model's default training recipe: the optimiser (or the one asked for) and its learning rate at
    /// <paramref name="batchSize"/>. SGD rates come from <see cref="DefaultLearningRate"/>; Adam and AdamW take 1e-4
    /// for the AlexNets, VGG and GoogLeNet and otherwise 1e-3 at batch 64, scaled by the square root of the batch (the
    /// usual rule for adaptive optimisers).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown model.</exception>
    public static Recipe DefaultRecipe(string name, int batchSize, string? optimizer = null)
    {
        if (!Models.ContainsKey(name)) throw Unknown(name);
        string opt = optimizer ?? DefaultOptimizer(name);
        // Any other name keeps the SGD rate; the optimiser factory rejects it with the list of valid ones.
        if (opt.ToLowerInvariant() is not ("adam" or "adamw")) return new Recipe(opt, DefaultLearningRate(name, batchSize));
        // AlexNet: 1e-4 learns at batch 16 and 32 on synthetic data where 3e-4 learns less; VGG: 1e-4 learns where the
        // scaled 5e-4 diverges at step 6 and dies; GoogLeNet: 1e-4 from Kaiming's init (docs/benchmarks.md, issue 12).
        return new Recipe(opt, AdamByDefault(name) ? 1e-4f : 1e-3f * MathF.Sqrt(batchSize / 64f));
    }

    /// <summary>The optimiser of a model's default recipe.</summary>
    /// <remarks>
    /// Adam for the AlexNets, VGG and the paper's GoogLeNet (no batch norm): from their default initialisation SGD at the
    /// default rate barely moves the loss off ln 10 in 48 steps on synthetic data (AlexNet, VGG-16), and GoogLeNet's
    /// Caffe recipe (SGD) stays at chance, where Adam at 1e-4 learns each (docs/benchmarks.md, issue 12). SGD for the others.
    /// </remarks>
    public static string DefaultOptimizer(string name) =>
        !Models.ContainsKey(name) ? throw Unknown(name) : AdamByDefault(name) ? "adam" : "sgd";

    static bool AdamByDefault(string name) =>
        IsAlexNet(name) || IsVgg(name) || IsGoogLeNet(name);

    /// <summary>
    /// The initialisations <paramref name="name"/> can start from, its default first: <c>default</c> (the layers' own,
    /// PyTorch's U(±1/√fan_in)) for every model; <c>paper</c> for the AlexNets; <c>torchvision</c> for VGG (see
    /// <see cref="Vgg.Initialization"/>); <c>kaiming</c> and <c>caffe</c> for GoogLeNet (see <see cref="GoogLeNet.Initialization"/>).
    /// </summary>
    public static IReadOnlyList<string> InitChoices(string name)
    {
        if (!Models.ContainsKey(name)) throw Unknown(name);
        if (IsAlexNet(name)) return ["default", "paper"];
        if (IsVgg(name)) return ["torchvision", "default"];
        if (IsGoogLeNet(name)) return ["kaiming", "caffe", "default"];
        return ["default"];
    }

    /// <summary>
    /// The initialisation a model starts from when none is named (the first of <see cref="InitChoices"/>). The paper's
    /// AlexNet initialisation stays at chance on synthetic data with every recipe tried (its biases of 1 swamp the
    /// image's signal), so it is opt-in; VGG and the paper's GoogLeNet, which have no batch norm, stay at chance from
    /// the layers' default, whose signal shrinks at every layer (docs/benchmarks.md, issue 12).
    /// </summary>
    public static string DefaultInit(string name) => InitChoices(name)[0];

    static bool IsAlexNet(string name) => name.StartsWith("alexnet", StringComparison.OrdinalIgnoreCase);
    static bool IsVgg(string name) => name.StartsWith("vgg", StringComparison.OrdinalIgnoreCase);
    static bool IsGoogLeNet(string name) => name.Equals("googlenet", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Builds a model by name with the initialisation <paramref name="init"/> (one of <see cref="InitChoices"/>; null
    /// takes <see cref="DefaultInit"/>); omitted sizes take the model's defaults.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name or initialisation; the message lists the valid choices.</exception>
    public static Graph Create(string name, int? classes, int? imageSize, int? channels, string? init)
    {
        if (!Models.TryGetValue(name, out var m)) throw Unknown(name);
        init ??= DefaultInit(name);
        var choices = InitChoices(name);
        if (!choices.Contains(init, StringComparer.OrdinalIgnoreCase))
            throw new ArgumentException($"model '{name}' has no initialisation '{init}'; valid choices: {string.Join(", ", choices)}");
        int k = classes ?? m.DefaultClasses, s = imageSize ?? m.DefaultSize, c = channels ?? m.DefaultChannels;
        if (IsVgg(name))
        {
            var v = init.Equals("default", StringComparison.OrdinalIgnoreCase) ? Vgg.Initialization.Default : Vgg.Initialization.Torchvision;
            return Vgg.Build(name.ToLowerInvariant(), name.Equals("vgg11", StringComparison.OrdinalIgnoreCase) ? Vgg.Vgg11 : Vgg.Vgg16, k, s, c, v);
        }
        if (IsGoogLeNet(name)) return GoogLeNet.Build(k, s, c, Enum.Parse<GoogLeNet.Initialization>(init, ignoreCase: true));
        if (!IsAlexNet(name)) return m.Build(k, s, c);
        var a = init.Equals("paper", StringComparison.OrdinalIgnoreCase) ? AlexNetInit.Paper : AlexNetInit.Default;
        return name.Equals("alexnet", StringComparison.OrdinalIgnoreCase) ? AlexNet.Build(k, s, c, a) : AlexNet.BuildTwoTower(k, s, c, a);
    }

    /// <summary>The names of the models available.</summary>
    public static IReadOnlyList<string> Names => Models.Keys.ToList();

    /// <summary>The native input size, channel count and class count of a model (e.g. 224, 3, 1000).</summary>
    public static (int ImageSize, int Channels, int Classes) Defaults(string name) =>
        Models.TryGetValue(name, out var m) ? (m.DefaultSize, m.DefaultChannels, m.DefaultClasses) : throw Unknown(name);

    /// <summary>Builds a model by name; omitted sizes take the model's defaults.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid choices.</exception>
    public static Graph Create(string name, int? classes = null, int? imageSize = null, int? channels = null) =>
        Create(name, classes, imageSize, channels, null);

    static ArgumentException Unknown(string name) =>
        new($"unknown model '{name}'; valid choices: {string.Join(", ", Models.Keys)}");
}

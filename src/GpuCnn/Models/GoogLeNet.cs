using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Models;

/// <summary>
/// GoogLeNet / Inception v1 as in Szegedy et al. 2015, Table 1, without the auxiliary heads: every convolution is
/// followed by ReLU; LRN after the stem's pools; each Inception block concatenates a 1×1 branch, a 1×1→3×3 branch,
/// a 1×1→5×5 branch and a 3×3 max pool→1×1 branch; max pools use ceil mode; global average pool, dropout 0.4, FC.
/// The network is the module tree <see cref="GoogLeNetModule"/> of <see cref="Inception"/> blocks, with torchvision's
/// dotted names; <see cref="BuildTorchvision"/> is torchvision's variant, whose state dict loads torchvision's weights.
/// </summary>
public static class GoogLeNet
{
    /// <summary>How the paper's GoogLeNet (conv biases, no batch norm) starts.</summary>
    public enum Initialization
    {
        /// <summary>
        /// Caffe's <c>bvlc_googlenet</c>: convolution weights "xavier" (variance 1/fan_in; drawn here from a normal,
        /// Caffe draws a uniform of the same variance), convolution biases 0.2, the classifier's weights xavier and its
        /// bias 0.
        /// </summary>
        Caffe,
        /// <summary>
        /// Kaiming normal (fan_in, ReLU's gain): N(0, 2/fan_in) for the convolutions, biases 0; the classifier keeps its
        /// default. Each convolution keeps the signal's scale, so without batch norm the loss leaves ln(classes) in the
        /// first steps, where Caffe's and the layers' default stay at chance (docs/benchmarks.md, issue 12).
        /// </summary>
        Kaiming,
        /// <summary>The layers' own default (PyTorch's for Conv2d and Linear): U(±1/√fan_in), biases 0.</summary>
        Default,
    }

    /// <summary>(1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection) for 3a … 5b, with a 0 entry marking a max pool.</summary>
    public static readonly (string Name, int C1, int R3, int C3, int R5, int C5, int Pool)[] Blocks =
    {
        ("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), ("pool3", 0, 0, 0, 0, 0, 0),
        ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
        ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128), ("pool4", 0, 0, 0, 0, 0, 0),
        ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128),
    };

    /// <summary>Builds the paper's network; below 64×64 input the stem keeps resolution (3×3 conv, no pools).</summary>
    public static Graph Build(int classes = 1000, int imageSize = 224, int channels = 3) =>
        Build(classes, imageSize, channels, DefaultInitialization);

    /// <summary>Builds the paper's network with the initialisation <paramref name="init"/>.</summary>
    public static Graph Build(int classes, int imageSize, int channels, Initialization init) =>
        new GoogLeNetModule(classes, channels, small: imageSize < 64, init).Build(new Shape(channels, imageSize, imageSize), "googlenet");

    /// <summary>The initialisation the paper's network starts from when none is named.</summary>
    public const Initialization DefaultInitialization = Initialization.Kaiming;

    /// <summary>torchvision's <c>googlenet</c> (<see cref="GoogLeNetModule.Torchvision"/>), whose state-dict keys are torchvision's.</summary>
    public static Graph BuildTorchvision(int classes = 1000, int imageSize = 224, int channels = 3) =>
        GoogLeNetModule.Torchvision(classes, channels).Build(new Shape(channels, imageSize, imageSize), "googlenet");
}

/// <summary>
/// torchvision's BasicConv2d: <c>conv</c>, then (torchvision's variant) <c>bn</c> with ε = 0.001 and no conv bias, then
/// ReLU. The paper's variant has a conv bias and no batch norm; its layers keep the names they had before GoogLeNet
/// became a module tree (the constructor's legacyName), so each seed's initial weights stay the same.
/// </summary>
public sealed class BasicConv2d : Module
{
    readonly Conv2d conv;
    readonly BatchNorm2d? bn;
    readonly string? legacyName;

    /// <summary>A convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/>, k×k, with ReLU.</summary>
    public BasicConv2d(int inChannels, int outChannels, int k, int stride = 1, int padding = 0, bool batchNorm = true, string? legacyName = null)
    {
        this.legacyName = legacyName;
        conv = AddLayer("conv", new Conv2d(inChannels, outChannels, k, stride, padding, bias: !batchNorm, name: legacyName));
        if (batchNorm) bn = AddLayer("bn", new BatchNorm2d(outChannels, eps: 1e-3f));
    }

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        x = Apply(conv, x);
        if (bn is not null) x = Apply(bn, x);
        return legacyName is null ? Relu(x, "relu") : Apply(new ReLU($"{legacyName}.relu"), x);
    }
}

/// <summary>
/// An Inception block as torchvision's: <c>branch1</c> (1×1), <c>branch2</c> (1×1 → 3×3), <c>branch3</c> (1×1 → 5×5 in
/// the paper; 3×3 in torchvision, as its weights were trained), <c>branch4</c> (3×3/1 max pool → 1×1), concatenated.
/// </summary>
public sealed class Inception : Module
{
    readonly Module branch1, branch2, branch3, branch4;
    readonly string? legacy;

    /// <summary>The block <paramref name="b"/> (3a … 5b of <see cref="GoogLeNet.Blocks"/>) on <paramref name="inChannels"/> channels; <paramref name="torchvision"/> selects torchvision's variant.</summary>
    public Inception(int inChannels, (string Name, int C1, int R3, int C3, int R5, int C5, int Pool) b, bool torchvision)
    {
        bool bn = torchvision;
        legacy = torchvision ? null : $"inception{b.Name}";
        string? L(string part) => legacy is null ? null : $"{legacy}.{part}";
        int k3 = torchvision ? 3 : 5;
        branch1 = AddModule("branch1", new BasicConv2d(inChannels, b.C1, 1, batchNorm: bn, legacyName: L("1x1")));
        branch2 = AddModule("branch2", new SequentialModule(
            new BasicConv2d(inChannels, b.R3, 1, batchNorm: bn, legacyName: L("3x3_reduce")),
            new BasicConv2d(b.R3, b.C3, 3, 1, 1, batchNorm: bn, legacyName: L("3x3"))));
        branch3 = AddModule("branch3", new SequentialModule(
            new BasicConv2d(inChannels, b.R5, 1, batchNorm: bn, legacyName: L("5x5_reduce")),
            new BasicConv2d(b.R5, b.C5, k3, 1, k3 / 2, batchNorm: bn, legacyName: L("5x5"))));
        branch4 = AddModule("branch4", new SequentialModule(
            new MaxPool2d(3, 1, 1, ceilMode: true, name: L("pool")),
            new BasicConv2d(inChannels, b.Pool, 1, batchNorm: bn, legacyName: L("pool_proj"))));
        OutChannels = b.C1 + b.C3 + b.C5 + b.Pool;
    }

    /// <summary>Channels of the concatenated output.</summary>
    public int OutChannels { get; }

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        var b1 = branch1.Forward(x);
        var b2 = branch2.Forward(x);
        var b3 = branch3.Forward(x);
        var b4 = branch4.Forward(x);
        return Apply(new Concat(4, legacy is null ? Qualify("concat") : $"{legacy}.concat"), b1, b2, b3, b4);
    }
}

/// <summary>
/// GoogLeNet as a module tree with torchvision's names: conv1, maxpool1, conv2, conv3, maxpool2, inception3a … 5b
/// (maxpool3, maxpool4 between), avgpool, dropout, fc. The auxiliary classifiers are left out, as in torchvision's
/// pretrained model (<c>aux_logits=False</c>); a state dict saved with them has <c>aux1.*</c> and <c>aux2.*</c> keys,
/// which <c>LoadStateDict(..., strict: false)</c> reports as unexpected and skips.
/// </summary>
public sealed class GoogLeNetModule : Module
{
    readonly List<object> stem = new(); // layers and modules, conv1 … inception5b
    readonly bool torchvision;
    readonly Layer avgpool;
    readonly Dropout dropout;
    readonly Linear fc;

    /// <summary>The paper's network (conv biases, LRN in the stem, 5×5 branches, dropout 0.4); <paramref name="small"/>: a 3×3 stem for small images.</summary>
    public GoogLeNetModule(int classes = 1000, int channels = 3, bool small = false)
        : this(classes, channels, small, GoogLeNet.DefaultInitialization) { }

    /// <summary>The paper's network (see the other constructor) initialised as <paramref name="init"/> says.</summary>
    public GoogLeNetModule(int classes, int channels, bool small, GoogLeNet.Initialization init) : this(classes, channels, small, torchvision: false)
    {
        if (init == GoogLeNet.Initialization.Default) return;
        foreach (var (_, layer) in NamedLayers())
        {
            if (layer is Conv2d conv)
            {
                conv.Weight.Init = Init.Normal;
                int fanIn = conv.Weight.FanIn;
                conv.Weight.InitValue = MathF.Sqrt((init == GoogLeNet.Initialization.Kaiming ? 2f : 1f) / fanIn);
                if (init == GoogLeNet.Initialization.Caffe && conv.Bias is { } b) { b.Init = Init.Constant; b.InitValue = 0.2f; }
            }
            else if (layer is Linear linear && init == GoogLeNet.Initialization.Caffe)
            {
                linear.Weight.Init = Init.Normal;
                linear.Weight.InitValue = MathF.Sqrt(1f / linear.Weight.FanIn);
            }
        }
    }

    GoogLeNetModule(int classes, int channels, bool small, bool torchvision)
    {
        this.torchvision = torchvision;
        bool bn = torchvision;
        string? L(string name) => torchvision ? null : name;
        if (small)
            Stem("conv1", new BasicConv2d(channels, 192, 3, 1, 1, batchNorm: bn, legacyName: L("conv1")));
        else
        {
            Stem("conv1", new BasicConv2d(channels, 64, 7, 2, 3, batchNorm: bn, legacyName: L("conv1")));
            Stem("maxpool1", new MaxPool2d(3, 2, ceilMode: true, name: L("pool1")));
            if (!torchvision) Stem("lrn1", new LocalResponseNorm(5, 1e-4f, 0.75f, 1f, "lrn1"));
            Stem("conv2", new BasicConv2d(64, 64, 1, batchNorm: bn, legacyName: L("conv2")));
            Stem("conv3", new BasicConv2d(64, 192, 3, 1, 1, batchNorm: bn, legacyName: L("conv3")));
            if (!torchvision) Stem("lrn2", new LocalResponseNorm(5, 1e-4f, 0.75f, 1f, "lrn2"));
            Stem("maxpool2", new MaxPool2d(3, 2, ceilMode: true, name: L("pool2")));
        }
        int c = 192;
        foreach (var b in GoogLeNet.Blocks)
        {
            if (b.C1 == 0)
            {
                // torchvision's maxpool4 is 2×2/2; both are 3×3/2 in the paper.
                Stem($"max{b.Name}", torchvision && b.Name == "pool4" ? new MaxPool2d(2, 2, ceilMode: true) : new MaxPool2d(3, 2, ceilMode: true, name: L(b.Name)));
                continue;
            }
            var block = new Inception(c, b, torchvision);
            Stem($"inception{b.Name}", block);
            c = block.OutChannels;
        }
        avgpool = AddLayer<Layer>("avgpool", torchvision ? new AdaptiveAvgPool2d(1, 1) : new GlobalAvgPool2d("avgpool"));
        dropout = AddLayer("dropout", new Dropout(torchvision ? 0.2f : 0.4f, L("dropout")));
        fc = AddLayer("fc", new Linear(1024, classes, name: L("fc")));
    }

    /// <summary>
    /// torchvision's <c>googlenet</c>: BasicConv2d with batch norm (ε = 0.001) and no conv biases, no LRN, 3×3 in
    /// branch3, a 2×2 maxpool4, dropout 0.2; 6,624,904 parameters for 1,000 classes. Initialisation is each layer's
    /// default, not torchvision's truncated normal: load its weights for that.
    /// </summary>
    public static GoogLeNetModule Torchvision(int classes = 1000, int channels = 3) => new(classes, channels, small: false, torchvision: true);

    void Stem(string name, object child) => stem.Add(child is Layer l ? AddLayer(name, l) : AddModule(name, (Module)child));

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        foreach (var child in stem) x = child is Layer l ? Apply(l, x) : ((Module)child).Forward(x);
        x = Apply(new Flatten("flatten"), Apply(avgpool, x));
        return Apply(fc, Apply(dropout, x));
    }
}

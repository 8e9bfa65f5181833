// A residual network written as modules (a block with a projection shortcut, as torchvision's BasicBlock), trained on
// synthetic images and checked on held-out ones from the same classes.
// Usage: CustomResidual [--device auto|cpu|cuda] [--steps N] [--min-accuracy A]; exits 1 below the accuracy asked for.
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;

string device = Arg("--device", "auto");
int steps = int.Parse(Arg("--steps", "80"));
double minAccuracy = double.Parse(Arg("--min-accuracy", "0.8"), System.Globalization.CultureInfo.InvariantCulture);
const int Batch = 32, Side = 12, Pixels = 3 * Side * Side, TrainCount = 384, TestCount = 128;

using var dev = DeviceManager.Open(device);
var data = SyntheticData.Create(TrainCount + TestCount, 3, Side, Side, 10, seed: 4);
var net = new ResidualNet(classes: 10);
using var model = net.ToExecutor(dev, new Shape(3, Side, Side), Batch);
Console.WriteLine(string.Join(", ", net.NamedParameters().Take(6).Select(p => p.Name)) + ", ...");
var sgd = new Sgd(model.Parameters, 0.05f, momentum: 0.9f);
double first = 0, last = 0;
for (int step = 0; step < steps; step++)
{
    int b = step % (TrainCount / Batch);
    model.SetInput(data.Images.AsSpan(b * Batch * Pixels, Batch * Pixels));
    model.SetLabels(data.Labels.AsSpan(b * Batch, Batch));
    model.ZeroGrad(); model.Forward(); model.ComputeLoss(); model.Backward(); sgd.Step();
    var (loss, _, count) = model.ReadStatistics();
    if (step == 0) first = loss / count;
    last = loss / count;
}
model.Eval();
using var held = Tensor.FromArray(data.Images.AsSpan(TrainCount * Pixels, TestCount * Pixels), new Shape(TestCount, 3, Side, Side), dev);
double accuracy = model.Predict(held, k: 1).Where((p, i) => p.Classes[0] == data.Labels[TrainCount + i]).Count() / (double)TestCount;
Console.WriteLine($"loss {first:F3} -> {last:F3} over {steps} steps; held-out accuracy {accuracy:P1} ({TestCount} images, chance 10%)");
return accuracy >= minAccuracy && last < first ? 0 : 1;

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

/// <summary>conv1, bn1, ReLU, conv2, bn2, plus the shortcut (a 1×1 projection where the shape changes), ReLU.</summary>
sealed class Block : Module
{
    readonly Conv2d conv1, conv2;
    readonly BatchNorm2d bn1, bn2;
    readonly Module? shortcut;

    public Block(int inChannels, int outChannels, int stride)
    {
        conv1 = AddLayer("conv1", new Conv2d(inChannels, outChannels, 3, stride, 1, bias: false));
        bn1 = AddLayer("bn1", new BatchNorm2d(outChannels));
        conv2 = AddLayer("conv2", new Conv2d(outChannels, outChannels, 3, 1, 1, bias: false));
        bn2 = AddLayer("bn2", new BatchNorm2d(outChannels));
        if (stride != 1 || inChannels != outChannels)
            shortcut = AddModule("shortcut", new SequentialModule(new Conv2d(inChannels, outChannels, 1, stride, 0, bias: false), new BatchNorm2d(outChannels)));
    }

    public override Node Forward(Node x)
    {
        var h = Relu(Apply(bn1, Apply(conv1, x)), "relu1");
        h = Apply(bn2, Apply(conv2, h));
        return Relu(Apply(new Add(2, Qualify("add")), h, shortcut?.Forward(x) ?? x), "relu2");
    }
}

/// <summary>A stem, two stages of blocks (the second halves the resolution), global average pooling and a classifier.</summary>
sealed class ResidualNet : Module
{
    readonly Conv2d stem;
    readonly Module stages;
    readonly Linear fc;

    public ResidualNet(int classes)
    {
        stem = AddLayer("stem", new Conv2d(3, 8, 3, 1, 1));
        stages = AddModule("stages", new SequentialModule(new Block(8, 8, 1), new Block(8, 16, 2)));
        fc = AddLayer("fc", new Linear(16, classes));
    }

    public override Node Forward(Node x)
    {
        x = stages.Forward(Relu(Apply(stem, x), "relu"));
        return Apply(fc, Apply(new Flatten(Qualify("flatten")), Apply(new GlobalAvgPool2d(Qualify("pool")), x)));
    }
}

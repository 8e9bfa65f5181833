// README's embedding example, verbatim (ReadmeExampleTests keeps the two equal): a residual block as a module,
// training, saving as safetensors, loading and predicting; it exits 1 unless the loaded model learned the images.
using GpuCnn.Data; using GpuCnn.Devices; using GpuCnn.Graphs; using GpuCnn.Layers; using GpuCnn.Optimizers;
using GpuCnn.Serialization; using GpuCnn.Tensors;

using var device = DeviceManager.Open("auto");
var data = SyntheticData.Create(256, 1, 8, 8, 10, seed: 1);
using var model = new Net().ToExecutor(device, new Shape(1, 8, 8), batchSize: 32); // initialised, accumulating
var sgd = new Sgd(model.Parameters, 0.05f, momentum: 0.9f);
for (int step = 0; step < 60; step++)
{
    int b = step % 8;
    model.SetInput(data.Images.AsSpan(b * 32 * 64, 32 * 64));
    model.SetLabels(data.Labels.AsSpan(b * 32, 32));
    model.ZeroGrad(); model.Forward(); model.ComputeLoss(); model.Backward(); sgd.Step();
}
Safetensors.Save("net.safetensors", model.StateDict());

using var loaded = new Net().ToExecutor(device, new Shape(1, 8, 8), batchSize: 32);
loaded.LoadStateDict(Safetensors.Load("net.safetensors")); // strict: every missing, unexpected or mis-shaped key is listed
loaded.Eval();
using var images = Tensor.FromArray(data.Images.AsSpan(0, 7 * 64), new Shape(7, 1, 8, 8), device);
foreach (var p in loaded.Predict(images, k: 3)) Console.WriteLine($"class {p.Classes[0]} ({p.Probabilities[0]:P1})");
using var seen = Tensor.FromArray(data.Images.AsSpan(0, 64 * 64), new Shape(64, 1, 8, 8), device);
int correct = loaded.Predict(seen, k: 1).Where((p, i) => p.Classes[0] == data.Labels[i]).Count();
Console.WriteLine($"{correct} of 64 training images classified correctly (chance: about 6)");
return correct >= 24 ? 0 : 1;

sealed class Residual : Module
{
    readonly Conv2d conv;
    readonly BatchNorm2d bn;
    public Residual(int c)
    {
        conv = AddLayer("conv", new Conv2d(c, c, 3, 1, 1, bias: false));
        bn = AddLayer("bn", new BatchNorm2d(c));
    }
    public override Node Forward(Node x) => Relu(Apply(new Add(2, Qualify("add")), Apply(bn, Apply(conv, x)), x), "relu");
}

sealed class Net : Module
{
    readonly Conv2d stem;
    readonly Module blocks;
    readonly Linear fc;
    public Net()
    {
        stem = AddLayer("stem", new Conv2d(1, 8, 3, 1, 1));
        blocks = AddModule("blocks", new SequentialModule(new Residual(8), new Residual(8)));
        fc = AddLayer("fc", new Linear(8, 10));
    }
    public override Node Forward(Node x) =>
        Apply(fc, Apply(new Flatten(Qualify("flatten")), Apply(new GlobalAvgPool2d(Qualify("pool")), blocks.Forward(Relu(Apply(stem, x), "relu")))));
}

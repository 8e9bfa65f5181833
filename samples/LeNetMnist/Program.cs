// LeNet-5 on the 10,000 MNIST digits bundled in the library: train with SGD, then check the test accuracy.
// Usage: LeNetMnist [--device auto|cpu|cuda] [--steps N] [--min-accuracy A]; exits 1 below the accuracy asked for.
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;

string device = Arg("--device", "auto");
int steps = int.Parse(Arg("--steps", "500"));
double minAccuracy = double.Parse(Arg("--min-accuracy", "0.9"), System.Globalization.CultureInfo.InvariantCulture);
const int Batch = 64, Pixels = 28 * 28;

using var dev = DeviceManager.Open(device);
var (train, test) = Mnist.LoadBundled();
// Normalise both sets with the training set's mean and standard deviation, as torchvision's Normalize.
double mean = train.Images.Average(), std = Math.Sqrt(train.Images.Average(v => (v - mean) * (v - mean)));
foreach (var set in new[] { train.Images, test.Images })
    for (int i = 0; i < set.Length; i++) set[i] = (float)((set[i] - mean) / std);
using var model = new LeNet5Module().ToExecutor(dev, new Shape(1, 28, 28), Batch);
var sgd = new Sgd(model.Parameters, 0.03f, momentum: 0.9f);
var order = Enumerable.Range(0, train.Count).ToArray();
new Random(1).Shuffle(order);
var images = new float[Batch * Pixels];
var labels = new int[Batch];
for (int step = 0; step < steps; step++)
{
    for (int i = 0; i < Batch; i++)
    {
        int n = order[(step * Batch + i) % order.Length];
        train.Images.AsSpan(n * Pixels, Pixels).CopyTo(images.AsSpan(i * Pixels));
        labels[i] = train.Labels[n];
    }
    model.SetInput(images);
    model.SetLabels(labels);
    model.ZeroGrad(); model.Forward(); model.ComputeLoss(); model.Backward(); sgd.Step();
    if ((step + 1) % 100 == 0 || step + 1 == steps)
    {
        var (loss, _, count) = model.ReadStatistics();
        Console.WriteLine($"step {step + 1}: mean loss {loss / count:F3} since the last report");
    }
}

model.Eval();
using var testImages = Tensor.FromArray(test.Images, new Shape(test.Count, 1, 28, 28), dev);
var predictions = model.Predict(testImages, k: 1);
double accuracy = predictions.Where((p, i) => p.Classes[0] == test.Labels[i]).Count() / (double)test.Count;
Console.WriteLine($"test accuracy {accuracy:P2} on {test.Count} digits after {steps} steps");
return accuracy >= minAccuracy ? 0 : 1;

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

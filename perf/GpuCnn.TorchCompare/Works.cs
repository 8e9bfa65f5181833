using System.Diagnostics;
using GpuCnn.Data;
using GpuCnn.Devices;
using GpuCnn.Models;
using GpuCnn.Training;
using ILGPU;
using ILGPU.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace GpuCnn.TorchCompare;

/// <summary>One side of a comparison, set up once: <see cref="Check"/> validates it, <see cref="Measure"/> returns a rate.</summary>
interface ISide : IDisposable
{
    /// <summary>Trainable parameters of the model (0 for a bare GEMM); both sides must agree.</summary>
    long Parameters => 0;
    void Check();
    /// <summary>Runs the timed work once and returns its rate (units per second).</summary>
    double Measure();
}

/// <summary>A piece of work both sides do.</summary>
sealed record Work(string Key, string Title, string Unit, Func<ISide> GpuCnn, Func<ISide> Torch)
{
    public string Format(double rate) => Unit switch
    {
        "GFLOP/s" => $"{rate:F1} GFLOP/s",
        "img/s" => $"{rate:F0} img/s ({1000 * BatchOrOne / rate:F1} ms/step)",
        "epochs/s" => $"{1 / rate:F2} s/epoch",
        _ => $"{rate:G4} {Unit}",
    };

    public int BatchOrOne { get; init; } = 1;
}

static class Works
{
    public static IEnumerable<Work> All(ComputeDevice dev, bool quick)
    {
        foreach (int n in new[] { 512, 1024 })
            yield return new Work($"sgemm{n}", $"SGEMM {n}³", "GFLOP/s",
                () => new GpuSgemm(dev, n, quick ? 3 : 10), () => new TorchSgemm(n, quick ? 3 : 10));
        foreach (int b in new[] { 64, 256 })
            yield return new Work($"lenet{b}", $"LeNet-5 training step, batch {b}", "img/s",
                () => new GpuStep(dev, "lenet5", b, 28, 1, 10, quick ? 3 : 20), () => new TorchStep(TorchModels.LeNet5(), b, 28, 1, 10, quick ? 3 : 20))
            { BatchOrOne = b };
        yield return new Work("lenet-epoch", "LeNet-5, one epoch of the 8,000 bundled digits, batch 64", "epochs/s",
            () => new GpuEpoch(dev), () => new TorchEpoch());
        yield return new Work("resnet18", "ResNet-18 (CIFAR variant, 32×32), batch 16", "img/s",
            () => new GpuStep(dev, "resnet18", 16, 32, 3, 10, quick ? 1 : 2), () => new TorchStep(TorchModels.ResNet18Cifar(), 16, 32, 3, 10, quick ? 1 : 2))
        { BatchOrOne = 16 };
        yield return new Work("alexnet", "AlexNet 224×224, batch 4", "img/s",
            () => new GpuStep(dev, "alexnet", 4, 224, 3, 1000, quick ? 1 : 3), () => new TorchStep(TorchModels.AlexNet(), 4, 224, 3, 1000, quick ? 1 : 3))
        { BatchOrOne = 4 };
    }

    public static (float[] A, float[] B) Operands(int n)
    {
        var rng = new Random(1);
        var a = new float[n * n];
        var b = new float[n * n];
        for (int i = 0; i < a.Length; i++) { a[i] = (float)(rng.NextDouble() * 2 - 1); b[i] = (float)(rng.NextDouble() * 2 - 1); }
        return (a, b);
    }

    /// <summary>Checks 64 sampled entries of C = A·B against a double-precision reference.</summary>
    public static void CheckProduct(string side, int n, float[] a, float[] b, float[] c)
    {
        var rng = new Random(2);
        for (int s = 0; s < 64; s++)
        {
            int i = rng.Next(n), j = rng.Next(n);
            double r = 0, mag = 0;
            for (int k = 0; k < n; k++) { r += (double)a[i * n + k] * b[k * n + j]; mag += Math.Abs((double)a[i * n + k] * b[k * n + j]); }
            if (Math.Abs(c[i * n + j] - r) > 1e-5 * mag + 1e-4)
                throw new InvalidOperationException($"{side} SGEMM {n}³: C[{i},{j}] = {c[i * n + j]}, reference {r}");
        }
    }

    public static double Time(Action run, int reps, double unitsPerRep)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) run();
        return unitsPerRep * reps / sw.Elapsed.TotalSeconds;
    }
}

/// <summary>GpuCnn's SGEMM as the layers call it: the engine picks the family (the host SIMD one on the CPU accelerator).</summary>
sealed class GpuSgemm : ISide
{
    readonly ComputeDevice dev;
    readonly int n, reps;
    readonly float[] a, b;
    readonly MemoryBuffer1D<float, Stride1D.Dense> da, db, dc;
    readonly GemmProduct product;
    readonly GemmOperands operands;

    public GpuSgemm(ComputeDevice dev, int n, int reps)
    {
        this.dev = dev; this.n = n; this.reps = reps;
        (a, b) = Works.Operands(n);
        da = dev.Accelerator.Allocate1D(a);
        db = dev.Accelerator.Allocate1D(b);
        dc = dev.Accelerator.Allocate1D<float>((long)n * n);
        product = GemmProduct.Dense(GemmOperation.LinearForward, n, n, n, false, false, n, n, n);
        operands = new GemmOperands { A = da.View, B = db.View, C = dc.View };
    }

    void Run() { dev.Gemm.Run(product, operands); dev.Synchronize(); }

    public void Check()
    {
        Run();
        Works.CheckProduct($"GpuCnn ({dev.Gemm.Choose(product, operands)})", n, a, b, dc.GetAsArray1D());
    }

    public double Measure() => Works.Time(Run, reps, 2.0 * n * n * n / 1e9);

    public void Dispose() { da.Dispose(); db.Dispose(); dc.Dispose(); }
}

sealed class TorchSgemm : ISide
{
    readonly int n, reps;
    readonly float[] a, b;
    readonly Tensor ta, tb;

    public TorchSgemm(int n, int reps)
    {
        this.n = n; this.reps = reps;
        (a, b) = Works.Operands(n);
        ta = tensor(a, new long[] { n, n });
        tb = tensor(b, new long[] { n, n });
    }

    public void Check()
    {
        using var c = mm(ta, tb);
        Works.CheckProduct("TorchSharp", n, a, b, c.data<float>().ToArray());
    }

    public double Measure() => Works.Time(() => { using var c = mm(ta, tb); }, reps, 2.0 * n * n * n / 1e9);

    public void Dispose() { ta.Dispose(); tb.Dispose(); }
}

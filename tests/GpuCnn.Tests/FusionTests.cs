using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Kernels;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using GpuCnn.Training;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Activations fused into the producing convolution or fully connected layer (ExecutorOptions.FuseActivations).</summary>
public class FusionTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Fused_lenet_trains_bit_identically_with_four_fewer_launches(string backend) =>
        // conv1, conv2, fc1 and fc2 each absorb their ReLU's forward kernel.
        FusionCheck.BitIdentical(backend, () => LeNet5.Build(), batch: 4, fused: 4);

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv_relu_and_linear_relu_pass_the_gradient_check_when_fused(string backend)
    {
        var dev = Backends.Get(backend);
        var g = new Graph { Name = "conv-relu-linear-relu" };
        var x = g.Input(new Shape(2, 5, 5), "x");
        var c = g.Add(new ReLU("r1"), g.Add(new Conv2d(2, 3, 3, padding: 1, name: "c"), x));
        var f = g.Add(new ReLU("r2"), g.Add(new Linear(75, 4, name: "f"), g.Add(new Flatten("flat"), c)));
        g.Output = f;
        GradCheck.Graph(dev, g, 2);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_producer_with_two_readers_is_not_fused(string backend)
    {
        // The convolution's raw output also feeds the Add, so the ReLU must stay a separate kernel.
        var dev = Backends.Get(backend);
        var g = new Graph { Name = "shared" };
        var x = g.Input(new Shape(2, 4, 4), "x");
        var c = g.Add(new Conv2d(2, 2, 3, padding: 1, name: "c"), x);
        g.Output = g.Add(new Add(2, "sum"), g.Add(new ReLU("r"), c), c);
        GradCheck.Graph(dev, g, 2);
    }

    [Fact]
    public void Fused_tiled_blocked_and_cublas_paths_apply_the_relu()
    {
        // The epilogues of the tiled and blocked kernels and of the cuBLAS lowering, on the CPU (cuBLAS stood in for).
        foreach (var dev in new[] { Backends.Tiled("cpu", GemmFamily.Tile64), Backends.Tiled("cpu", GemmFamily.Blocked), Backends.CuBlas("cpu") })
        {
            var g = new Graph { Name = "fused-" + dev.Gemm.Preference };
            var x = g.Input(new Shape(2, 5, 4), "x");
            var c = g.Add(new ReLU("r1"), g.Add(new Conv2d(2, 3, 3, padding: 1, name: "c"), x));
            g.Output = g.Add(new ReLU("r2"), g.Add(new Linear(60, 5, name: "f"), c));
            GradCheck.Graph(dev, g, 2);
        }
    }

    /// <summary>
    /// LeakyReLU- and ELU-like epilogues of a convolution (with bias, and pointwise without) and a fully connected
    /// layer, on every family the CPU runs (cuBLAS stood in for): driven directly, the fused forward equals the plain
    /// forward followed by the activation's double formula.
    /// </summary>
    [Fact]
    public void Leaky_and_elu_epilogues_equal_the_producer_followed_by_the_formula()
    {
        var devices = new[]
        {
            Backends.Tiled("cpu", GemmFamily.Direct), Backends.Tiled("cpu", GemmFamily.Blocked), Backends.Tiled("cpu", GemmFamily.Tile64),
            Backends.CuBlas("cpu"),
        };
        foreach (var dev in devices)
            foreach (var act in new[] { FusedActivation.Leaky(0.1f), FusedActivation.Elu(0.7f) })
            {
                string what = $"{dev.Gemm.Preference} slope={act.Slope} alpha={act.Alpha}";
                FusedEqualsFormula(dev, new Conv2d(2, 3, 3, padding: 1, name: "c"), new Shape(2, 5, 4), act, what);
                FusedEqualsFormula(dev, new Conv2d(4, 3, 1, bias: false, name: "pw"), new Shape(4, 3, 3), act, what);
                FusedEqualsFormula(dev, new Linear(12, 5, name: "f"), new Shape(12), act, what);
            }
    }

    static void FusedEqualsFormula(ComputeDevice dev, Layer layer, Shape sample, FusedActivation act, string what)
    {
        const int batch = 2;
        var outShape = layer.InferOutputShape(new[] { sample }).WithBatch(batch);
        var inShape = sample.WithBatch(batch);
        layer.Bind(dev);
        var rng = new Random(7);
        var buffers = layer.Parameters.Select(p => dev.Accelerator.Allocate1D(GradCheck.RandomFloats(rng, (int)p.Shape.Size, 1))).ToList();
        try
        {
            for (int i = 0; i < buffers.Count; i++) layer.Parameters[i].Value = buffers[i].View;
            using var x = dev.Accelerator.Allocate1D(GradCheck.RandomFloats(rng, (int)inShape.Size, 1));
            using var y = dev.Accelerator.Allocate1D<float>(outShape.Size);
            var io = new LayerIO { Batch = batch, Inputs = new[] { new TensorRef(x.View, inShape) }, Output = new TensorRef(y.View, outShape) };
            layer.Forward(io);
            var plain = y.GetAsArray1D();
            io.FusedActivation = act;
            layer.Forward(io);
            var fused = y.GetAsArray1D();
            Assert.Contains(plain, v => v < 0); // the activation has something to do
            double slope = act.Slope, alpha = act.Alpha;
            var expect = plain.Select(v => v < 0 ? slope * v + alpha * (Math.Exp(v) - 1) : (double)v).ToArray();
            Close.Assert(expect, fused, 1e-6, 1e-5, $"{layer.Describe()} on {what}");
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }
}

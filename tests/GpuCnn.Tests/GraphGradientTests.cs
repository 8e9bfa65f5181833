using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Whole graphs through the executor: planned buffers, gradient accumulation at fan-out, the full LeNet-5.</summary>
public class GraphGradientTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void LeNet5_end_to_end_gradients(string backend) =>
        GradCheck.Graph(Backends.Get(backend), LeNet5.Build(), batch: 2, maxChecks: 24);

    /// <summary>One node feeding two branches that meet again: its gradient must be the sum of both.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Fan_out_accumulates_gradients(string backend)
    {
        var g = new Graph { Name = "fanout" };
        var x = g.Input(new Shape(2, 6, 6));
        var h = g.Add(new Tanh("shared"), x);
        var a = g.Add(new Conv2d(2, 3, 3, padding: 1, name: "a"), h);
        var b = g.Add(new Conv2d(2, 3, 1, name: "b"), h);
        var s = g.Add(new Add(name: "sum"), g.Add(new ReLU("ra"), a), b);
        var m = g.Add(new Add(3, name: "sum3"), s, g.Add(new Sigmoid("sg"), s), a); // a is read by three consumers
        g.Output = g.Add(new Linear(27, 3, name: "head"), g.Add(new Flatten("f"), g.Add(new MaxPool2d(2, name: "p"), m)));
        GradCheck.Graph(Backends.Get(backend), g, batch: 2);
    }

    [GradientCheck(typeof(GpuCnn.Layers.Add))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Add_layer(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Add(), 2, new Shape(3, 4), new Shape(3, 4));
}

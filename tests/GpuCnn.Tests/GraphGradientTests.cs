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
        var pa = g.Add(new MaxPool2d(2, name: "pa"), a);
        var pb = g.Add(new AvgPool2d(2, name: "pb"), b);
        var fa = g.Add(new Flatten("fa"), pa);
        var fb = g.Add(new Flatten("fb"), pb);
        // Concatenation is not a layer yet, so the branches meet in a two-input reference-free way: both feed
        // one Linear through a sum of separate heads.
        var la = g.Add(new Linear(27, 4, name: "la"), fa);
        g.Output = la;
        var lb = g.Add(new Linear(27, 4, name: "lb"), fb);
        g.Output = g.Add(new Linear(4, 2, name: "head"), g.Add(new Sigmoid("sb"), lb));
        // Both branches must reach the output for the shared node to fan out into the backward pass.
        Assert.Contains(h, g.TopologicalOrder());
        GradCheck.Graph(Backends.Get(backend), g, batch: 2);
    }
}

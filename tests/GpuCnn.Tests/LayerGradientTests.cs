using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// Every layer: forward against the double reference and backward against finite differences, on every back end
/// (convolutions in <see cref="ConvolutionMatrixTests"/>, crossed with the GEMM families).
/// </summary>
public class LayerGradientTests
{
    /// <summary>Which convolutions take the pointwise kernels; their gradients are in <see cref="ConvolutionMatrixTests"/>.</summary>
    [Fact]
    public void Conv2d_pointwise_is_only_the_plain_1x1()
    {
        Assert.True(new Conv2d(6, 4, 1).IsPointwise);
        Assert.True(new Conv2d(6, 4, 1, groups: 2, bias: false).IsPointwise);
        Assert.False(new Conv2d(6, 4, 1, stride: 2).IsPointwise);
        Assert.False(new Conv2d(6, 4, 1, padding: 1).IsPointwise);
        Assert.False(new Conv2d(6, 4, 3).IsPointwise);
    }

    [GradientCheck(typeof(GpuCnn.Layers.Linear))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Linear(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Linear(7, 5), 3, new Shape(7));

    [GradientCheck(typeof(GpuCnn.Layers.Linear))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Linear_on_images_without_bias(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Linear(2 * 3 * 3, 4, bias: false), 2, new Shape(2, 3, 3));

    [GradientCheck(typeof(GpuCnn.Layers.ReLU))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void ReLU(string backend) => GradCheck.Layer(Backends.Get(backend), new ReLU(), 2, new Shape(3, 4, 5));

    [GradientCheck(typeof(GpuCnn.Layers.Tanh))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Tanh(string backend) => GradCheck.Layer(Backends.Get(backend), new Tanh(), 2, new Shape(3, 4, 5));

    [GradientCheck(typeof(GpuCnn.Layers.Sigmoid))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Sigmoid(string backend) => GradCheck.Layer(Backends.Get(backend), new Sigmoid(), 2, new Shape(3, 4, 5));

    [GradientCheck(typeof(GpuCnn.Layers.Flatten))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Flatten(string backend) => GradCheck.Graph(Backends.Get(backend),
        new GpuCnn.Graphs.Sequential(new Shape(2, 3, 3), new Tanh(), new Flatten(), new Linear(18, 3)), 2);

    [GradientCheck(typeof(GpuCnn.Layers.MaxPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void MaxPool2d(string backend) => GradCheck.Layer(Backends.Get(backend), new MaxPool2d(2), 2, new Shape(3, 6, 6));

    [GradientCheck(typeof(GpuCnn.Layers.MaxPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void MaxPool2d_overlapping_padded_ceil(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new MaxPool2d(3, 2, padding: 1, ceilMode: true), 2, new Shape(2, 6, 7));

    [GradientCheck(typeof(GpuCnn.Layers.MinPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void MinPool2d(string backend) => GradCheck.Layer(Backends.Get(backend), new MinPool2d(2), 2, new Shape(3, 5, 6));

    [GradientCheck(typeof(GpuCnn.Layers.AvgPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void AvgPool2d(string backend) => GradCheck.Layer(Backends.Get(backend), new AvgPool2d(2), 2, new Shape(3, 6, 6));

    [GradientCheck(typeof(GpuCnn.Layers.AvgPool2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void AvgPool2d_overlapping_padded_ceil(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new AvgPool2d(3, 2, padding: 1, ceilMode: true), 2, new Shape(2, 6, 7));
}

using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Every layer: forward against the double reference and backward against finite differences, on every back end.</summary>
public class LayerGradientTests
{
    [GradientCheck(typeof(GpuCnn.Layers.Conv2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_basic(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Conv2d(2, 3, 3), 2, new Shape(2, 6, 5));

    [GradientCheck(typeof(GpuCnn.Layers.Conv2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_stride_padding(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Conv2d(3, 4, 3, stride: 2, padding: 1), 2, new Shape(3, 7, 6));

    [GradientCheck(typeof(GpuCnn.Layers.Conv2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_same_padding_even_kernel(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Conv2d(2, 2, 4, padding: Padding.Same), 2, new Shape(2, 5, 5));

    [GradientCheck(typeof(GpuCnn.Layers.Conv2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_groups_dilation_no_bias(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Conv2d(4, 6, 3, padding: 2, dilation: 2, groups: 2, bias: false), 2, new Shape(4, 6, 6));

    /// <summary>1×1 convolutions take the pointwise kernels (no tap loops); with and without groups.</summary>
    [GradientCheck(typeof(GpuCnn.Layers.Conv2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_pointwise(string backend)
    {
        var conv = new Conv2d(6, 4, 1);
        Assert.True(conv.IsPointwise);
        GradCheck.Layer(Backends.Get(backend), conv, 2, new Shape(6, 3, 4));
        GradCheck.Layer(Backends.Get(backend), new Conv2d(6, 4, 1, groups: 2, bias: false), 2, new Shape(6, 3, 4));
        Assert.False(new Conv2d(6, 4, 1, stride: 2).IsPointwise);
        GradCheck.Layer(Backends.Get(backend), new Conv2d(6, 4, 1, stride: 2), 2, new Shape(6, 3, 4)); // strided 1×1 takes the general kernels
    }

    [GradientCheck(typeof(GpuCnn.Layers.Conv2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_rectangular(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Conv2d(2, 3, (3, 2), (1, 2), Padding.Explicit(1, 0), (1, 1)), 2, new Shape(2, 5, 7));

    /// <summary>Every axis different (kernel, stride, padding, dilation), so a kernel that mixes up H and W fails.</summary>
    [GradientCheck(typeof(GpuCnn.Layers.Conv2d))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Conv2d_asymmetric_dilation(string backend) =>
        GradCheck.Layer(Backends.Get(backend), new Conv2d(2, 3, (3, 2), (2, 1), Padding.Explicit(2, 1), (2, 3)), 2, new Shape(2, 7, 6));

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

using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Tests.Infrastructure;

/// <summary>A convolution geometry for the gradient check: a fresh layer, the batch and the per-sample input shape.</summary>
public sealed record ConvCase(string Name, Func<Conv2d> Layer, int Batch, Shape Input)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// The one shared list of convolution cases, crossed with every back end and every GEMM family by
/// <c>ConvolutionMatrixTests</c>. Each case is there to catch a specific mistake; add one here rather than a copy
/// in a family's own test file.
/// </summary>
public static class ConvCases
{
    /// <summary>Every case, by name.</summary>
    public static readonly IReadOnlyList<ConvCase> All = new ConvCase[]
    {
        new("basic", () => new Conv2d(2, 3, 3), 2, new Shape(2, 6, 5)),
        new("stride_padding", () => new Conv2d(3, 4, 3, stride: 2, padding: 1), 2, new Shape(3, 7, 6)),
        // more output channels than the 4-row tile, so the blocked family's row loop runs more than once
        new("stride_padding_9_channels", () => new Conv2d(3, 9, 3, stride: 2, padding: 1), 2, new Shape(3, 7, 6)),
        new("same_even_kernel", () => new Conv2d(2, 2, 4, padding: Padding.Same), 2, new Shape(2, 5, 5)),
        new("same_rectangular_stride", () => new Conv2d(2, 3, (4, 2), (2, 1), Padding.Same, (1, 1)), 2, new Shape(2, 7, 5)),
        new("groups_dilation_no_bias", () => new Conv2d(4, 6, 3, padding: 2, dilation: 2, groups: 2, bias: false), 2, new Shape(4, 6, 6)),
        new("rectangular", () => new Conv2d(2, 3, (3, 2), (1, 2), Padding.Explicit(1, 0), (1, 1)), 2, new Shape(2, 5, 7)),
        // every axis different (kernel, stride, padding, dilation), so a kernel that mixes up H and W fails
        new("asymmetric_dilation", () => new Conv2d(2, 3, (3, 2), (2, 1), Padding.Explicit(2, 1), (2, 3)), 2, new Shape(2, 7, 6)),
        new("asymmetric_dilation_wider", () => new Conv2d(2, 3, (3, 2), (2, 1), Padding.Explicit(2, 1), (2, 3)), 2, new Shape(2, 8, 9)),
        // 1×1 convolutions take the pointwise kernels (no tap loops and, in the blocked family, no lowering)
        new("pointwise", () => new Conv2d(6, 4, 1), 2, new Shape(6, 3, 4)),
        new("pointwise_groups", () => new Conv2d(6, 4, 1, groups: 2), 2, new Shape(6, 3, 4)),
        new("pointwise_groups_no_bias", () => new Conv2d(6, 4, 1, groups: 2, bias: false), 2, new Shape(6, 3, 4)),
        // a strided 1×1 is not pointwise: it takes the general kernels
        new("strided_1x1", () => new Conv2d(6, 4, 1, stride: 2), 2, new Shape(6, 3, 4)),
        // 11×11, stride 4, padding 2 (AlexNet's conv1): col2im's stride-divisibility test on a large stride
        new("alexnet_conv1_geometry", () => new Conv2d(3, 2, 11, stride: 4, padding: 2), 1, new Shape(3, 23, 23)),
    };

    /// <summary>The case called <paramref name="name"/>.</summary>
    public static ConvCase Get(string name) => All.Single(c => c.Name == name);
}

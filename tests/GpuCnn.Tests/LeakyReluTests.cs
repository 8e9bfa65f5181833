using GpuCnn.Kernels;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>LeakyReLU against its double reference (forward and backward) and finite differences, on every back end.</summary>
public class LeakyReluTests
{
    const float Slope = 0.2f; // not the default, so a slope that fails to reach the kernel shows
    const int Batch = 2;
    static readonly Shape Sample = new(3, 4, 5);

    /// <summary>The double reference the shared gradient check uses for this layer.</summary>
    [LayerReference(typeof(LeakyReLU))]
    static double[] DoubleReference(Layer layer, double[][] x, Shape[] shapes, double[][] parameters, Reference.Mode mode) =>
        x[0].Select(v => Forward(v, ((LeakyReLU)layer).NegativeSlope)).ToArray();

    static double Forward(double x, double slope) => x > 0 ? x : slope * x;
    static double Backward(double x, double dy, double slope) => x > 0 ? dy : slope * dy;

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Forward_and_backward_match_the_reference(string backend) =>
        ActivationCheck.MatchesFormula(backend, new LeakyReLU(Slope), Sample, Batch, x => Forward(x, Slope), (x, dy) => Backward(x, dy, Slope), 1e-7, 1e-6);

    [GradientCheck(typeof(LeakyReLU))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gradient_check(string backend) => ActivationCheck.GradientCheck(backend, new LeakyReLU(Slope), Sample, Batch, seed: 77);

    /// <summary>It fuses into a convolution and a fully connected layer like ReLU.</summary>
    [GradientCheck(typeof(LeakyReLU))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Fuses_into_conv_and_linear_like_relu(string backend) => ActivationCheck.FusesLikeRelu(backend, () => new LeakyReLU(Slope));

    [Fact]
    public void Slope_defaults_to_pytorch_and_must_be_non_negative_and_finite()
    {
        Assert.Equal(0.01f, new LeakyReLU().NegativeSlope);
        Assert.Equal(FusedActivation.Leaky(Slope), new LeakyReLU(Slope).Epilogue);
        foreach (float bad in new[] { -0.1f, float.NaN, float.PositiveInfinity })
            Assert.Contains("LeakyReLU", Assert.Throws<ArgumentException>(() => new LeakyReLU(bad)).Message);
    }
}

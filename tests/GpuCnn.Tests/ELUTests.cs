using GpuCnn.Kernels;
using GpuCnn.Layers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>ELU against its double reference (forward and backward) and finite differences, on every back end.</summary>
public class ELUTests
{
    const float Alpha = 0.7f; // not the default, so an α that fails to reach the kernel shows
    const int Batch = 2;
    static readonly Shape Sample = new(3, 4, 5);

    /// <summary>The double reference the shared gradient check uses for this layer.</summary>
    [LayerReference(typeof(ELU))]
    static double[] DoubleReference(Layer layer, double[][] x, Shape[] shapes, double[][] parameters, Reference.Mode mode) =>
        x[0].Select(v => Forward(v, ((ELU)layer).Alpha)).ToArray();

    static double Forward(double x, double alpha) => x > 0 ? x : alpha * (Math.Exp(x) - 1);
    static double Backward(double x, double dy, double alpha) => x > 0 ? dy : dy * alpha * Math.Exp(x);

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Forward_and_backward_match_the_reference(string backend) =>
        ActivationCheck.MatchesFormula(backend, new ELU(Alpha), Sample, Batch, x => Forward(x, Alpha), (x, dy) => Backward(x, dy, Alpha), 1e-6, 1e-5);

    [GradientCheck(typeof(ELU))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Gradient_check(string backend) => ActivationCheck.GradientCheck(backend, new ELU(Alpha), Sample, Batch, seed: 77);

    /// <summary>It fuses into a convolution and a fully connected layer like ReLU.</summary>
    [GradientCheck(typeof(ELU))]
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Fuses_into_conv_and_linear_like_relu(string backend) => ActivationCheck.FusesLikeRelu(backend, () => new ELU(Alpha));

    [Fact]
    public void Alpha_defaults_to_pytorch_and_must_be_non_negative_and_finite()
    {
        Assert.Equal(1f, new ELU().Alpha);
        Assert.Equal(FusedActivation.Elu(Alpha), new ELU(Alpha).Epilogue);
        foreach (float bad in new[] { -0.5f, float.NaN, float.NegativeInfinity })
            Assert.Contains("ELU", Assert.Throws<ArgumentException>(() => new ELU(bad)).Message);
    }
}

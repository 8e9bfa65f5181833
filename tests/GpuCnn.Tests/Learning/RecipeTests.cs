using GpuCnn.Models;
using Xunit;

namespace GpuCnn.Tests.Learning;

/// <summary>The default recipes that the learning tests measured (docs/benchmarks.md, issue 12).</summary>
public class RecipeTests
{
    [Theory]
    [InlineData("lenet5", "sgd", 0.03f * 16 / 64)]
    [InlineData("alexnet", "adam", 1e-4f)]
    [InlineData("alexnet-2tower", "adam", 1e-4f)]
    [InlineData("vgg11", "adam", 1e-4f)]
    [InlineData("vgg16", "adam", 1e-4f)]
    [InlineData("googlenet", "adam", 1e-4f)]
    [InlineData("resnet18", "sgd", 0.01f * 16 / 128)]
    [InlineData("resnet34", "sgd", 0.01f * 16 / 128)]
    public void Default_recipe_at_batch_16(string model, string optimizer, float rate)
    {
        Assert.Equal(new Recipe(optimizer, rate), ModelZoo.DefaultRecipe(model, 16));
    }

    [Theory]
    [InlineData("lenet5", "default")]
    [InlineData("alexnet", "default", "paper")]
    [InlineData("alexnet-2tower", "default", "paper")]
    [InlineData("vgg11", "torchvision", "default")]
    [InlineData("vgg16", "torchvision", "default")]
    [InlineData("googlenet", "kaiming", "caffe", "default")]
    [InlineData("resnet18", "default")]
    [InlineData("resnet34", "default")]
    public void Default_initialisation_comes_first(string model, params string[] choices)
    {
        Assert.Equal(choices, ModelZoo.InitChoices(model));
        Assert.Equal(choices[0], ModelZoo.DefaultInit(model));
    }

    [Fact]
    public void An_unknown_initialisation_names_the_choices()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("vgg16", 10, 32, 3, "paper"));
        Assert.Contains("torchvision, default", e.Message);
    }

    [Fact]
    public void Sgd_asked_for_keeps_the_scaled_rate_for_vgg()
    {
        Assert.Equal(new Recipe("sgd", 0.01f * 16 / 128), ModelZoo.DefaultRecipe("vgg11", 16, "sgd"));
    }
}

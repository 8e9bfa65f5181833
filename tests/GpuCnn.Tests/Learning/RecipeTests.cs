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
    [InlineData("googlenet", "sgd", 0.01f * 16 / 128)]
    [InlineData("resnet18", "sgd", 0.01f * 16 / 128)]
    [InlineData("resnet34", "sgd", 0.01f * 16 / 128)]
    public void Default_recipe_at_batch_16(string model, string optimizer, float rate)
    {
        Assert.Equal(new Recipe(optimizer, rate), ModelZoo.DefaultRecipe(model, 16));
    }

    [Fact]
    public void Sgd_asked_for_keeps_the_scaled_rate_for_vgg()
    {
        Assert.Equal(new Recipe("sgd", 0.01f * 16 / 128), ModelZoo.DefaultRecipe("vgg11", 16, "sgd"));
    }
}

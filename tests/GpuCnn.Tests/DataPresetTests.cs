using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The library's --data presets, as an embedder calls them.</summary>
public class DataPresetTests
{
    [Fact]
    public void Synthetic_follows_the_model_and_the_request()
    {
        var s = DataPresets.Load(new DataRequest("synthetic", "lenet5", 4) { ImageSize = 20, Classes = 3, SyntheticCount = 40 });
        Assert.Equal((1, 20, 3), (s.Channels, s.ImageSize, s.Classes));
        Assert.Equal(40, s.Train.Count);
        Assert.Equal(16, s.Test.Count); // max(n / 8, 16) held out
        Assert.Equal(DataPresets.SyntheticMean, s.Mean);
    }

    [Fact]
    public void Fixed_presets_reject_other_sizes_and_unknown_names_list_the_choices()
    {
        var size = Assert.Throws<ArgumentException>(() => DataPresets.Load(new DataRequest("mnist", "lenet5", 1) { ImageSize = 32 }));
        Assert.Equal("--image-size 32 does not match mnist's 28x28 images", size.Message);
        var name = Assert.Throws<ArgumentException>(() => DataPresets.Load(new DataRequest("imagenet", "lenet5", 1)));
        Assert.Contains("valid choices: mnist, cifar10, synthetic", name.Message);
    }

    [Fact]
    public void A_folder_goes_to_the_folder_loader_and_falls_back_to_idx_when_it_declines()
    {
        string dir = Path.Combine(Path.GetTempPath(), "gpucnn-preset-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var fake = DataPresets.Load(new DataRequest("synthetic", "lenet5", 1) { SyntheticCount = 8 });
            var picked = DataPresets.Load(new DataRequest(dir, "lenet5", 1) { FolderLoader = _ => fake with { Description = "mine" } });
            Assert.Equal("mine", picked.Description);
            // Declined: read as MNIST IDX, whose error names the file it misses.
            var e = Assert.ThrowsAny<IOException>(() => DataPresets.Load(new DataRequest(dir, "lenet5", 1) { FolderLoader = _ => null }));
            Assert.Contains(dir, e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

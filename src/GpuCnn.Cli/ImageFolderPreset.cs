using System.Globalization;
using GpuCnn.Data;
using GpuCnn.Imaging;
using GpuCnn.Models;
using GpuCnn.Serialization;

namespace GpuCnn.Cli;

/// <summary>
/// <c>--data DIR</c> with class subfolders: an <see cref="ImageFolder"/> at the model's channels and --image-size,
/// normalised per channel by the training images' mean and standard deviation (or, for eval, by the checkpoint's).
/// </summary>
static class ImageFolderPreset
{
    public static Func<DataRequest, DataSelection?> Loader(double valFraction, bool strict, TextWriter warn, CheckpointHeader? from = null) => r =>
    {
        if (!ImageFolder.Looks(r.Data)) return null;
        var (defSize, channels, _) = r.Channels is int ch ? (r.ImageSize ?? 0, ch, 0) : ModelZoo.Defaults(r.Model);
        int size = r.ImageSize ?? (from is not null && from.Extra.TryGetValue(CheckpointFacts.ImageSize, out var s)
            ? int.Parse(s, CultureInfo.InvariantCulture) : defSize);
        var folder = ImageFolder.Load(r.Data, new ImageFolderOptions
        {
            ImageSize = size, Channels = channels, ValFraction = valFraction, Seed = r.Seed, Strict = strict,
            Warn = m => warn.WriteLine($"warning: {m}"),
        });
        if (r.Classes is int k && k != folder.ClassNames.Count)
            throw new ArgumentException($"--classes {k} does not match the {folder.ClassNames.Count} class folders of {r.Data}");
        var (mean, std) = ImageFolder.Statistics(folder.Train);
        if (from is not null)
        {
            mean = CheckpointFacts.GetFloats(from, CheckpointFacts.ChannelMean) ?? mean;
            std = CheckpointFacts.GetFloats(from, CheckpointFacts.ChannelStd) ?? std;
        }
        var norm = new Augmentation(r.Seed).Normalize(mean, std);
        var train = r.Augment
            ? (channels == 3 ? new Augmentation(r.Seed).RandomCrop(Math.Max(1, size / 8)).HorizontalFlip() : new Augmentation(r.Seed).RandomCrop(Math.Max(1, size / 8))).Normalize(mean, std)
            : norm;
        string skipped = folder.Skipped.Count > 0 ? $", {folder.Skipped.Count} unreadable files skipped" : "";
        return new DataSelection(folder.Train, folder.Test,
            $"image folder {r.Data}: {folder.ClassNames.Count} classes, {channels}x{size}x{size}, decoded at {folder.DecodedImagesPerSecond:F0} img/s{skipped}",
            channels, size, folder.ClassNames.Count, 0, 1, train, norm, folder.ClassNames,
            new Dictionary<string, string>
            {
                [CheckpointFacts.ChannelMean] = CheckpointFacts.Floats(mean), [CheckpointFacts.ChannelStd] = CheckpointFacts.Floats(std),
                [CheckpointFacts.ImageSize] = size.ToString(CultureInfo.InvariantCulture),
                [CheckpointFacts.ValFraction] = valFraction.ToString("R", CultureInfo.InvariantCulture),
            });
    };
}

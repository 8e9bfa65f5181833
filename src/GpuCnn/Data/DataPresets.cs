using GpuCnn.Models;

namespace GpuCnn.Data;

/// <summary>What to train on: a preset name (mnist, cifar10, synthetic) or a folder, and the knobs that shape it.</summary>
/// <param name="Data">mnist, cifar10, synthetic, or a folder (MNIST IDX files, or whatever <see cref="FolderLoader"/> reads).</param>
/// <param name="Model">The model's name in <see cref="ModelZoo"/>; synthetic images take its image size and channels.</param>
/// <param name="Seed">Seed of synthetic images and of augmentation.</param>
public sealed record DataRequest(string Data, string Model, int Seed)
{
    /// <summary>The folder of a preset's files (MNIST IDX, CIFAR-10 binaries); null uses the bundled digits for MNIST.</summary>
    public string? Directory { get; init; }

    /// <summary>Side of the square images, when the caller asks for one; fixed-size presets reject another.</summary>
    public int? ImageSize { get; init; }

    /// <summary>Number of classes, when the caller asks for one; fixed presets reject another.</summary>
    public int? Classes { get; init; }

    /// <summary>Training images of the synthetic preset (default 2,048, or 256 from 128 pixels on).</summary>
    public int? SyntheticCount { get; init; }

    /// <summary>Random crops (and flips for colour images) on the training set.</summary>
    public bool Augment { get; init; }

    /// <summary>
    /// Reads a folder that is not MNIST IDX (an image folder, for instance); returns null when it does not recognise
    /// the folder. Lets a caller with an image decoder plug it in without the core library depending on one.
    /// </summary>
    public Func<DataRequest, DataSelection?>? FolderLoader { get; init; }

    /// <summary>Channels of the synthetic preset's images, for a model outside the zoo (an imported one); null takes the zoo model's.</summary>
    public int? Channels { get; init; }
}

/// <summary>A resolved data set: train and held-out images, their geometry, and how to normalise them.</summary>
/// <param name="Train">Training images.</param>
/// <param name="Test">Held-out images.</param>
/// <param name="Description">A phrase for logs, e.g. "bundled MNIST digits".</param>
/// <param name="Channels">Channels of every image.</param>
/// <param name="ImageSize">Side of the square images.</param>
/// <param name="Classes">Number of classes.</param>
/// <param name="TrainTransform">Augmentation and normalisation of training images; null normalises with Mean and Std.</param>
/// <param name="EvalTransform">Normalisation of held-out images; null normalises with Mean and Std.</param>
/// <param name="Mean">Single-channel mean, used when <paramref name="EvalTransform"/> is null.</param>
/// <param name="Std">Single-channel standard deviation, used when <paramref name="EvalTransform"/> is null.</param>
/// <param name="ClassNames">Names of the classes, where the data has them (image folders); null otherwise.</param>
/// <param name="Extra">Facts to store in a checkpoint so that eval and predict normalise the same way.</param>
public sealed record DataSelection(Dataset Train, Dataset Test, string Description, int Channels, int ImageSize, int Classes,
    float Mean, float Std, Augmentation? TrainTransform, Augmentation? EvalTransform,
    IReadOnlyList<string>? ClassNames = null, IReadOnlyDictionary<string, string>? Extra = null);

/// <summary>Resolves <c>--data mnist|cifar10|synthetic|DIR</c> into data sets, for the CLI and for embedders alike.</summary>
public static class DataPresets
{
    /// <summary>The preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mnist", "cifar10", "synthetic"];

    /// <summary>Mean and standard deviation that synthetic pixels (in [0, 1] around 0.5) are normalised with.</summary>
    public const float SyntheticMean = 0.5f, SyntheticStd = 0.25f;

    /// <summary>Loads the data a request names.</summary>
    /// <exception cref="ArgumentException">Unknown preset, missing folder, or a size or class count the preset cannot give.</exception>
    /// <exception cref="DataFormatException">A file is corrupt.</exception>
    public static DataSelection Load(DataRequest r)
    {
        const float mnistMean = 0.1307f, mnistStd = 0.3081f;
        string? dir = r.Directory;
        switch (r.Data.ToLowerInvariant())
        {
            case "mnist":
            {
                var (train, test) = dir is null ? Mnist.LoadBundled() : Mnist.LoadDirectory(dir);
                CheckFixed("mnist", 28, 10, r);
                var aug = r.Augment ? new Augmentation(r.Seed).RandomCrop(2).Normalize([mnistMean], [mnistStd]) : null;
                return new(train, test, dir is null ? "bundled MNIST digits" : $"MNIST from {dir}", 1, 28, 10, mnistMean, mnistStd, aug, null);
            }
            case "cifar10":
            {
                if (dir is null) throw new ArgumentException("--data cifar10 needs --data-dir DIR (the folder with data_batch_1.bin ... test_batch.bin)");
                var (train, test) = Cifar10.LoadDirectory(dir);
                CheckFixed("cifar10", 32, 10, r);
                var norm = new Augmentation(r.Seed).Normalize(Cifar10.Mean, Cifar10.Std);
                var trainT = r.Augment ? new Augmentation(r.Seed).RandomCrop(4).HorizontalFlip().Normalize(Cifar10.Mean, Cifar10.Std) : norm;
                return new(train, test, $"CIFAR-10 from {dir}{(r.Augment ? " with crop and flip augmentation" : "")}", 3, 32, 10, 0, 1,
                    trainT, norm, Cifar10.ClassNames);
            }
            case "synthetic":
            {
                var (defSize, defChannels, _) = r.Channels is int ch ? (r.ImageSize ?? 28, ch, 0) : ModelZoo.Defaults(r.Model);
                int size = r.ImageSize ?? defSize, k = r.Classes ?? 10;
                // Large images make large data sets: keep the default small enough to generate in seconds.
                int n = r.SyntheticCount ?? (size >= 128 ? 256 : 2048);
                var all = SyntheticData.Create(n + Math.Max(n / 8, 16), defChannels, size, size, k, r.Seed);
                return new(all.Subset(0, n), all.Subset(n, all.Count - n), $"synthetic {defChannels}x{size}x{size}, {k} classes (seed {r.Seed})",
                    defChannels, size, k, SyntheticMean, SyntheticStd, null, null);
            }
            default:
                if (System.IO.Directory.Exists(r.Data))
                {
                    // A folder of class subfolders goes to the folder loader; anything else is read as MNIST IDX,
                    // whose error names the file it misses.
                    if (!IsIdxFolder(r.Data) && r.FolderLoader?.Invoke(r) is { } folder) return folder;
                    var (train, test) = Mnist.LoadDirectory(r.Data);
                    return new(train, test, $"MNIST from {r.Data}", 1, 28, 10, mnistMean, mnistStd, null, null);
                }
                throw new ArgumentException($"unknown data '{r.Data}'; valid choices: mnist, cifar10, synthetic, or a folder of MNIST IDX files" +
                                            (r.FolderLoader is null ? "" : " or of class subfolders of images"));
        }
    }

    /// <summary>Whether a folder holds MNIST IDX files (any name with "idx" in it, gzipped or not).</summary>
    static bool IsIdxFolder(string dir) =>
        System.IO.Directory.EnumerateFiles(dir).Any(f => Path.GetFileName(f).Contains("idx", StringComparison.OrdinalIgnoreCase));

    static void CheckFixed(string data, int size, int classes, DataRequest r)
    {
        if (r.ImageSize is int s && s != size) throw new ArgumentException($"--image-size {s} does not match {data}'s {size}x{size} images");
        if (r.Classes is int k && k != classes) throw new ArgumentException($"--classes {k} does not match {data}'s {classes} classes");
    }
}

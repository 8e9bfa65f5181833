using System.Collections.Concurrent;
using System.Diagnostics;
using GpuCnn.Data;

namespace GpuCnn.Imaging;

/// <summary>How to read an image folder.</summary>
public sealed record ImageFolderOptions
{
    /// <summary>Side of the square images after resize and centre crop.</summary>
    public int ImageSize { get; init; } = 32;

    /// <summary>1 (luminance) or 3 (RGB).</summary>
    public int Channels { get; init; } = 3;

    /// <summary>Share of each class held out when the folder has no train/ and val/ subfolders.</summary>
    public double ValFraction { get; init; } = 0.2;

    /// <summary>Seed of the held-out split.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>End the run at the first unreadable file instead of skipping it.</summary>
    public bool Strict { get; init; }

    /// <summary>Decoding threads (0: one per core).</summary>
    public int Workers { get; init; }

    /// <summary>Told about each skipped file: its path and what is wrong.</summary>
    public Action<string>? Warn { get; init; }
}

/// <summary>
/// The torchvision ImageFolder layout: one subfolder of PNG or JPEG files per class (class names are the sorted
/// folder names), either directly in the folder (split by <see cref="ImageFolderOptions.ValFraction"/> per class)
/// or under train/ and val/. Images are decoded in parallel, resized and centre-cropped, and held in memory.
/// </summary>
public sealed class ImageFolder
{
    static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    ImageFolder(Dataset train, Dataset test, IReadOnlyList<string> classes, IReadOnlyList<string> skipped, double imagesPerSecond)
    {
        Train = train;
        Test = test;
        ClassNames = classes;
        Skipped = skipped;
        DecodedImagesPerSecond = imagesPerSecond;
    }

    /// <summary>Training images, pixels in [0, 1].</summary>
    public Dataset Train { get; }

    /// <summary>Held-out images, pixels in [0, 1].</summary>
    public Dataset Test { get; }

    /// <summary>Class names, in label order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>"path: problem" of each file that could not be read and was skipped.</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>Images decoded per second while loading (all threads together).</summary>
    public double DecodedImagesPerSecond { get; }

    /// <summary>Whether <paramref name="dir"/> looks like an image folder: subfolders holding images, or train/.</summary>
    public static bool Looks(string dir) =>
        Directory.Exists(dir) && Directory.EnumerateDirectories(dir).Any(d => ListImages(d).Any()
            || Path.GetFileName(d) == "train" && Directory.EnumerateDirectories(d).Any());

    /// <summary>Reads the folder.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="DataFormatException">No classes or images, or (under Strict) an unreadable file.</exception>
    public static ImageFolder Load(string dir, ImageFolderOptions o)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"image folder '{dir}' does not exist");
        string trainDir = Path.Combine(dir, "train"), valDir = Path.Combine(dir, "val");
        bool presplit = Directory.Exists(trainDir) && Directory.Exists(valDir);
        string root = presplit ? trainDir : dir;
        var classes = Directory.EnumerateDirectories(root).Select(Path.GetFileName).OfType<string>()
            .Where(c => ListImages(Path.Combine(root, c)).Any()).Order(StringComparer.Ordinal).ToList();
        if (classes.Count < 2) throw new DataFormatException(root, $"needs at least two class subfolders of PNG or JPEG files, found {classes.Count}");
        var trainFiles = new List<(string Path, int Label)>();
        var valFiles = new List<(string Path, int Label)>();
        var rng = new Random(o.Seed);
        for (int k = 0; k < classes.Count; k++)
        {
            var files = ListImages(Path.Combine(root, classes[k])).Select(f => (f, k)).ToList();
            if (presplit)
            {
                trainFiles.AddRange(files);
                string v = Path.Combine(valDir, classes[k]);
                if (Directory.Exists(v)) valFiles.AddRange(ListImages(v).Select(f => (f, k)));
                continue;
            }
            // A stratified, seeded split: every class keeps at least one training image.
            var shuffled = files.OrderBy(_ => rng.Next()).ToList();
            int nVal = Math.Min(files.Count - 1, (int)Math.Round(files.Count * o.ValFraction));
            valFiles.AddRange(shuffled.Take(nVal));
            trainFiles.AddRange(shuffled.Skip(nVal));
        }
        var skipped = new ConcurrentBag<string>();
        var sw = Stopwatch.StartNew();
        var train = Decode("imagefolder-train", trainFiles, classes.Count, o, skipped);
        var test = Decode("imagefolder-val", valFiles, classes.Count, o, skipped);
        double rate = (trainFiles.Count + valFiles.Count) / Math.Max(1e-9, sw.Elapsed.TotalSeconds);
        if (train.Count == 0) throw new DataFormatException(root, "no readable training images");
        return new ImageFolder(train, test, classes, skipped.Order(StringComparer.Ordinal).ToList(), rate);
    }

    static IEnumerable<string> ListImages(string dir) =>
        Directory.EnumerateFiles(dir).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal);

    static Dataset Decode(string name, List<(string Path, int Label)> files, int classes, ImageFolderOptions o, ConcurrentBag<string> skipped)
    {
        int sample = o.Channels * o.ImageSize * o.ImageSize;
        var images = new float[files.Count][];
        var par = new ParallelOptions { MaxDegreeOfParallelism = o.Workers > 0 ? o.Workers : Environment.ProcessorCount };
        var failed = new ConcurrentBag<DataFormatException>();
        Parallel.For(0, files.Count, par, i =>
        {
            try { images[i] = ImageDecoder.Decode(files[i].Path, o.ImageSize, o.Channels); }
            catch (Exception e) when (e is IOException)
            {
                var d = e as DataFormatException ?? new DataFormatException(files[i].Path, e.Message, e);
                if (o.Strict) { failed.Add(d); return; }
                skipped.Add(d.Message);
                o.Warn?.Invoke($"skipped {d.Message}");
            }
        });
        // Under --strict-data the first bad file in path order ends the run, whichever thread met it first.
        if (failed.OrderBy(f => f.FilePath, StringComparer.Ordinal).FirstOrDefault() is { } first) throw first;
        var keep = Enumerable.Range(0, files.Count).Where(i => images[i] is not null).ToList();
        var pixels = new float[keep.Count * sample];
        var labels = new int[keep.Count];
        for (int j = 0; j < keep.Count; j++)
        {
            images[keep[j]].CopyTo(pixels, j * sample);
            labels[j] = files[keep[j]].Label;
        }
        return new Dataset(name, pixels, labels, o.Channels, o.ImageSize, o.ImageSize, classes);
    }

    /// <summary>Per-channel mean and standard deviation of a data set's pixels (computed once, in double).</summary>
    public static (float[] Mean, float[] Std) Statistics(Dataset d)
    {
        int plane = d.Height * d.Width;
        var mean = new float[d.Channels];
        var std = new float[d.Channels];
        for (int c = 0; c < d.Channels; c++)
        {
            double s = 0, s2 = 0;
            long n = 0;
            for (int i = 0; i < d.Count; i++)
            {
                var span = d.Images.AsSpan(i * d.SampleSize + c * plane, plane);
                foreach (float v in span) { s += v; s2 += (double)v * v; }
                n += plane;
            }
            double m = s / Math.Max(1, n);
            mean[c] = (float)m;
            // A constant channel would divide by zero: floor the deviation.
            std[c] = (float)Math.Max(1e-3, Math.Sqrt(Math.Max(0, s2 / Math.Max(1, n) - m * m)));
        }
        return (mean, std);
    }
}

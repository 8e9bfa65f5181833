namespace GpuCnn.Data;

/// <summary>
/// Loads MNIST-format data (IDX files of 8-bit images and labels 0..9) as <see cref="Dataset"/>s with pixels
/// scaled to [0, 1]. Works for MNIST itself and drop-in clones such as Fashion-MNIST.
/// </summary>
public static class Mnist
{
    private const int Classes = 10;
    private const string ResourcePrefix = "GpuCnn.Data.mnist.";

    private static readonly string[] FileNames =
    [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];

    // byte -> byte/255f, so conversion is a lookup and the values are exactly those of the reference loaders.
    private static readonly float[] PixelScale = Enumerable.Range(0, 256).Select(b => b / 255f).ToArray();

    /// <summary>
    /// The official file names, without ".gz": train images, train labels, test images, test labels.
    /// </summary>
    public static IReadOnlyList<string> StandardFileNames { get; } = Array.AsReadOnly(FileNames);

    /// <summary>Loads one image file and its label file (each raw or gzip'd).</summary>
    /// <param name="imagesPath">IDX file of shape (count, rows, cols), unsigned bytes.</param>
    /// <param name="labelsPath">IDX file of shape (count), values 0..9.</param>
    /// <param name="name">Name of the resulting dataset.</param>
    /// <returns>A 1-channel, 10-class dataset with pixels byte/255.</returns>
    /// <exception cref="DataFormatException">A file is malformed, or the two do not fit together.</exception>
    public static Dataset Load(string imagesPath, string labelsPath, string name)
    {
        ArgumentNullException.ThrowIfNull(imagesPath);
        ArgumentNullException.ThrowIfNull(labelsPath);
        return Build(Idx.Read(imagesPath), imagesPath, Idx.Read(labelsPath), labelsPath, name);
    }

    /// <summary>
    /// Loads the train and test sets from a directory holding the four <see cref="StandardFileNames"/>,
    /// each either as NAME or NAME.gz (raw preferred when both exist).
    /// </summary>
    /// <param name="dir">The directory.</param>
    /// <returns>The training set ("mnist-train") and the test set ("mnist-test").</returns>
    /// <exception cref="FileNotFoundException">A file is missing; the message names the directory and the four expected names.</exception>
    /// <exception cref="DataFormatException">A file is malformed.</exception>
    public static (Dataset Train, Dataset Test) LoadDirectory(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var paths = new string[FileNames.Length];
        var missing = new List<string>();
        for (int i = 0; i < FileNames.Length; i++)
        {
            string raw = Path.Combine(dir, FileNames[i]);
            paths[i] = File.Exists(raw) ? raw : raw + ".gz";
            if (!File.Exists(paths[i]))
                missing.Add(FileNames[i]);
        }
        if (missing.Count > 0)
        {
            string where = Directory.Exists(dir) ? dir : $"{dir} (directory does not exist)";
            throw new FileNotFoundException(
                $"{where}: missing MNIST file(s) {string.Join(", ", missing)}; expected the four files " +
                $"{string.Join(", ", FileNames)}, each raw or with .gz",
                Path.Combine(dir, missing[0]));
        }
        return (Load(paths[0], paths[1], "mnist-train"), Load(paths[2], paths[3], "mnist-test"));
    }

    /// <summary>
    /// Loads the 10,000 real MNIST digits embedded in the GpuCnn assembly (8,000 train, 2,000 test,
    /// class-balanced; see data/mnist/README.md), so examples and tests need no download.
    /// </summary>
    /// <returns>The training set ("mnist-bundled-train") and the test set ("mnist-bundled-test").</returns>
    /// <exception cref="InvalidOperationException">The resources were not embedded (a build problem).</exception>
    public static (Dataset Train, Dataset Test) LoadBundled()
    {
        var arrays = FileNames.Select(f => ReadResource(f + ".gz")).ToArray();
        string Res(int i) => $"resource {ResourcePrefix}{FileNames[i]}.gz";
        return (Build(arrays[0], Res(0), arrays[1], Res(1), "mnist-bundled-train"),
                Build(arrays[2], Res(2), arrays[3], Res(3), "mnist-bundled-test"));
    }

    private static IdxArray ReadResource(string fileName)
    {
        var assembly = typeof(Mnist).Assembly;
        string resource = ResourcePrefix + fileName;
        using Stream stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException(
                $"embedded resource '{resource}' is missing from {assembly.GetName().Name}; the project must embed " +
                "data/mnist/*.gz as EmbeddedResource with LogicalName=\"GpuCnn.Data.mnist.%(Filename)%(Extension)\"");
        return Idx.Read(stream, "resource " + resource);
    }

    private static Dataset Build(IdxArray images, string imagesName, IdxArray labels, string labelsName, string name)
    {
        if (images.Dims.Length != 3)
            throw new DataFormatException(imagesName,
                $"expected a 3-D image array (count, rows, cols), found {images.Dims.Length}-D [{string.Join(", ", images.Dims)}]");
        if (labels.Dims.Length != 1)
            throw new DataFormatException(labelsName,
                $"expected a 1-D label array, found {labels.Dims.Length}-D [{string.Join(", ", labels.Dims)}]");
        int count = images.Dims[0], rows = images.Dims[1], cols = images.Dims[2];
        if (rows == 0 || cols == 0)
            throw new DataFormatException(imagesName, $"images are {rows}x{cols} pixels");
        if (labels.Dims[0] != count)
            throw new DataFormatException(labelsName, $"{labels.Dims[0]} labels but {imagesName} has {count} images");

        int[] labelValues = new int[count];
        for (int i = 0; i < count; i++)
        {
            byte label = labels.Data[i];
            if (label >= Classes)
                throw new DataFormatException(labelsName, $"label {label} at index {i} is outside 0..{Classes - 1}");
            labelValues[i] = label;
        }

        byte[] pixels = images.Data;
        float[] values = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
            values[i] = PixelScale[pixels[i]];
        return new Dataset(name, values, labelValues, 1, rows, cols, Classes);
    }
}

namespace GpuCnn.Data;

/// <summary>
/// Loads the CIFAR-10 binary version ("cifar-10-binary.tar.gz", unpacked) as <see cref="Dataset"/>s of 3x32x32
/// images with pixels scaled to [0, 1]. Each record of a batch file is 1 label byte (0..9) followed by 3072 pixel
/// bytes: the 1024 red values, then the green, then the blue, each plane row-major. That is already CHW, so a record
/// maps onto a sample without reordering.
/// </summary>
public static class Cifar10
{
    private const int Classes = 10;
    private const int Side = 32;
    private const int PixelBytes = 3 * Side * Side;
    private const int RecordBytes = 1 + PixelBytes;
    private const int TrainBatches = 5;
    private const string TestFileName = "test_batch.bin";
    private const string SubfolderName = "cifar-10-batches-bin";

    private static readonly string[] TrainFileNames =
        Enumerable.Range(1, TrainBatches).Select(i => $"data_batch_{i}.bin").ToArray();

    private static readonly string ExpectedNames =
        $"{TrainFileNames[0]} .. {TrainFileNames[^1]} (at least one) and {TestFileName}";

    // byte -> byte/255f, as in Mnist: the values are exactly those of the reference loaders.
    private static readonly float[] PixelScale = Enumerable.Range(0, 256).Select(b => b / 255f).ToArray();

    private static readonly string[] Names =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Array.AsReadOnly(Names);

    /// <summary>
    /// Per-channel (R, G, B) mean of the CIFAR-10 training pixels in [0, 1], for
    /// <see cref="Augmentation.Normalize"/>.
    /// </summary>
    public static readonly float[] Mean = [0.4914f, 0.4822f, 0.4465f];

    /// <summary>Per-channel (R, G, B) standard deviation of the CIFAR-10 training pixels in [0, 1].</summary>
    public static readonly float[] Std = [0.2470f, 0.2435f, 0.2616f];

    /// <summary>Reads one batch file (e.g. <c>data_batch_1.bin</c>).</summary>
    /// <param name="path">The file.</param>
    /// <returns>A 3x32x32, 10-class dataset named after the file (without extension), pixels byte/255.</returns>
    /// <exception cref="DataFormatException">The file is empty, its length is not a whole number of records, or a label is above 9.</exception>
    public static Dataset LoadBatch(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        int count = RecordCount(path);
        var images = new float[(long)count * PixelBytes];
        var labels = new int[count];
        Read(path, count, images, labels, 0);
        return new Dataset(Path.GetFileNameWithoutExtension(path), images, labels, 3, Side, Side, Classes);
    }

    /// <summary>
    /// Loads the train and test sets from a directory holding <c>data_batch_1.bin</c> .. <c>data_batch_5.bin</c>
    /// (those present, at least one, concatenated in that order) and <c>test_batch.bin</c>. The directory may also
    /// be the parent of the archive's <c>cifar-10-batches-bin</c> folder.
    /// </summary>
    /// <param name="dir">The directory.</param>
    /// <returns>The training set ("cifar10-train") and the test set ("cifar10-test").</returns>
    /// <exception cref="FileNotFoundException">No training batch or no test batch; the message names the directory and the expected names.</exception>
    /// <exception cref="DataFormatException">A file is malformed.</exception>
    public static (Dataset Train, Dataset Test) LoadDirectory(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        // Prefer dir itself; fall back to the archive's folder when dir holds none of the files.
        string nested = Path.Combine(dir, SubfolderName);
        string root = !HasAny(dir) && HasAny(nested) ? nested : dir;

        string[] train = TrainFileNames.Select(f => Path.Combine(root, f)).Where(File.Exists).ToArray();
        string test = Path.Combine(root, TestFileName);
        var missing = new List<string>();
        if (train.Length == 0)
            missing.Add($"{TrainFileNames[0]} .. {TrainFileNames[^1]} (none found)");
        if (!File.Exists(test))
            missing.Add(TestFileName);
        if (missing.Count > 0)
        {
            string where = Directory.Exists(dir) ? dir : $"{dir} (directory does not exist)";
            throw new FileNotFoundException(
                $"{where}: missing CIFAR-10 file(s) {string.Join(", ", missing)}; expected {ExpectedNames}, " +
                $"in the directory or its {SubfolderName} subfolder",
                train.Length == 0 ? Path.Combine(root, TrainFileNames[0]) : test);
        }
        return (Load(train, "cifar10-train"), Load([test], "cifar10-test"));
    }

    /// <summary>
    /// Writes <paramref name="data"/> as one CIFAR-10 batch file, so that <see cref="LoadBatch"/> reads it back.
    /// Pixels are clamped to [0, 1] and rounded to the nearest multiple of 1/255; values that are already such
    /// multiples (everything this class reads) round-trip exactly.
    /// </summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="data">A 3x32x32 dataset with labels 0..9.</param>
    /// <exception cref="ArgumentException">The shape is not 3x32x32, a label is above 9, or a pixel is NaN.</exception>
    public static void WriteBatch(string path, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Channels != 3 || data.Height != Side || data.Width != Side)
            throw new ArgumentException(
                $"{data.Name}: CIFAR-10 images are 3x{Side}x{Side}, got {data.Channels}x{data.Height}x{data.Width}", nameof(data));

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var record = new byte[RecordBytes];
        for (int i = 0; i < data.Count; i++)
        {
            int label = data.Labels[i];
            if ((uint)label >= Classes)
                throw new ArgumentException($"{data.Name}: label {label} of sample {i} is outside 0..{Classes - 1}", nameof(data));
            record[0] = (byte)label;
            var pixels = data.Images.AsSpan(i * PixelBytes, PixelBytes);
            for (int p = 0; p < PixelBytes; p++)
            {
                float v = pixels[p];
                if (float.IsNaN(v))
                    throw new ArgumentException($"{data.Name}: pixel {p} of sample {i} is NaN", nameof(data));
                record[1 + p] = (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f);
            }
            stream.Write(record);
        }
    }

    private static bool HasAny(string dir) =>
        File.Exists(Path.Combine(dir, TestFileName)) || TrainFileNames.Any(f => File.Exists(Path.Combine(dir, f)));

    private static Dataset Load(string[] paths, string name)
    {
        // Check every file's length first, so the samples go straight into one array of the final size.
        int[] counts = paths.Select(RecordCount).ToArray();
        long total = counts.Sum(c => (long)c);
        if (total * PixelBytes > Array.MaxLength)
            throw new DataFormatException(paths[^1], $"{total} records in all do not fit in one array");
        var images = new float[total * PixelBytes];
        var labels = new int[total];
        int offset = 0;
        for (int f = 0; f < paths.Length; f++)
        {
            Read(paths[f], counts[f], images, labels, offset);
            offset += counts[f];
        }
        return new Dataset(name, images, labels, 3, Side, Side, Classes);
    }

    private static int RecordCount(string path)
    {
        long length = new FileInfo(path).Length; // FileNotFoundException for a missing file, as File.Open would
        if (length == 0)
            throw new DataFormatException(path, "empty file: expected CIFAR-10 records of 3073 bytes");
        if (length % RecordBytes != 0)
            throw new DataFormatException(path,
                $"length {length} is not a multiple of {RecordBytes} (1 label byte + {PixelBytes} pixel bytes per record); " +
                "truncated, or not a CIFAR-10 binary batch (CIFAR-100 records are 3074 bytes)");
        if (length / RecordBytes * PixelBytes > Array.MaxLength)
            throw new DataFormatException(path, $"{length / RecordBytes} records do not fit in one array");
        return (int)(length / RecordBytes);
    }

    // Reads `count` records into images/labels starting at sample `first`, a few thousand records at a time.
    private static void Read(string path, int count, float[] images, int[] labels, int first)
    {
        const int ChunkRecords = 1024;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new byte[Math.Min(count, ChunkRecords) * RecordBytes];
        for (int done = 0; done < count;)
        {
            int n = Math.Min(ChunkRecords, count - done);
            int bytes = n * RecordBytes;
            int got = stream.ReadAtLeast(buffer.AsSpan(0, bytes), bytes, throwOnEndOfStream: false);
            if (got < bytes)
                throw new DataFormatException(path,
                    $"truncated while reading: record {done + got / RecordBytes} of {count} is incomplete (the file shrank?)");
            for (int r = 0; r < n; r++)
            {
                var record = buffer.AsSpan(r * RecordBytes, RecordBytes);
                int index = done + r;
                if (record[0] >= Classes)
                    throw new DataFormatException(path, $"label {record[0]} of record {index} is outside 0..{Classes - 1}");
                labels[first + index] = record[0];
                var to = images.AsSpan((first + index) * PixelBytes, PixelBytes);
                for (int p = 0; p < PixelBytes; p++)
                    to[p] = PixelScale[record[1 + p]];
            }
            done += n;
        }
    }
}

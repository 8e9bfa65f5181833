namespace GpuCnn.Data;

/// <summary>
/// Generates labelled images of any shape without a download: for smoke tests, benchmarks and examples of models
/// whose real data set is too big to ship. Each class has a fixed smooth prototype (a few low-frequency sinusoids
/// per channel) and every sample is its class's prototype plus a little noise, so a network's loss falls within a
/// few steps. Everything derives from the seed through SplitMix64, so a seed gives the same data on every machine.
/// </summary>
public static class SyntheticData
{
    private const int Waves = 3;        // sinusoids per channel of a prototype
    private const int MaxFrequency = 3; // cycles per image side: smooth, yet distinct between classes
    private const float Noise = 0.08f;  // amplitude of the triangular per-pixel noise
    private const int ChunkSize = 16;   // samples per unit of parallel work

    /// <summary>
    /// Creates <paramref name="count"/> samples with class-balanced labels (counts differ by at most one) in a
    /// seeded random order and values in [0, 1]. The prototypes depend on the seed, so sets made with different
    /// seeds are different problems: for a train/test split, create one set and split it with
    /// <see cref="Dataset.Subset"/>.
    /// </summary>
    /// <param name="count">Number of samples, at least 0.</param>
    /// <param name="channels">C, at least 1.</param>
    /// <param name="height">H, at least 1.</param>
    /// <param name="width">W, at least 1.</param>
    /// <param name="classes">Number of classes, at least 1.</param>
    /// <param name="seed">Determines prototypes, noise and label order.</param>
    /// <param name="name">Name of the dataset.</param>
    /// <returns>The dataset, NCHW.</returns>
    public static Dataset Create(int count, int channels, int height, int width, int classes, int seed,
        string name = "synthetic")
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        long size = (long)channels * height * width;
        if (size * Math.Max(count, 1) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"{count} images of {channels}x{height}x{width} do not fit in one array");

        ulong root = Mix((ulong)(uint)seed ^ 0x5EED_DA7A_5EED_DA7AUL);
        int sampleSize = (int)size;

        int[] labels = new int[count];
        for (int i = 0; i < count; i++)
            labels[i] = i % classes;
        ulong state = Key(root, 1, 0);
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)Math.BigMul(Next(ref state), (ulong)(i + 1), out _);
            (labels[i], labels[j]) = (labels[j], labels[i]);
        }

        // Work in chunks of samples of one class, so a prototype is made once per chunk and only for classes in use:
        // memory stays one prototype per thread even for 1000 classes of 224x224 images.
        var chunks = new List<(int Class, int[] Samples)>();
        foreach (var group in Enumerable.Range(0, count).GroupBy(i => labels[i]))
            chunks.AddRange(group.Chunk(ChunkSize).Select(c => (group.Key, c)));
        float[] images = new float[count * size];
        bool parallel = count * size >= 1 << 18;
        Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = parallel ? -1 : 1 },
            () => new float[sampleSize],
            (j, _, proto) =>
            {
                var (k, samples) = chunks[j];
                Prototype(proto, channels, height, width, Key(root, 2, k));
                foreach (int i in samples)
                    AddNoise(proto, images.AsSpan(i * sampleSize, sampleSize), Key(root, 3, i));
                return proto;
            },
            _ => { });
        return new Dataset(name, images, labels, channels, height, width, classes);
    }

    // Each sample's noise has its own stream, keyed by its index, so the parallel loop is deterministic.
    private static void AddNoise(ReadOnlySpan<float> proto, Span<float> image, ulong state)
    {
        const float Scale = Noise / 65536;
        ulong r = 0;
        for (int p = 0; p < image.Length; p++)
        {
            // Two 16-bit uniforms per pixel, four per draw; their difference is triangular on (-1, 1), mean 0.
            if ((p & 1) == 0)
                r = Next(ref state);
            else
                r >>= 32;
            float t = (int)(r & 0xFFFF) - (int)((r >> 16) & 0xFFFF);
            image[p] = Math.Clamp(proto[p] + Scale * t, 0f, 1f);
        }
    }

    // Fills one C x H x W prototype: per channel, an offset plus Waves sinusoids of random integer frequency, phase
    // and amplitude, scaled into about [0.1, 0.9]. sin(a + b) = sin a cos b + cos a sin b splits each wave into a row
    // and a column table, so a 224x224 prototype costs a few multiply-adds per pixel, not a sine.
    private static void Prototype(Span<float> proto, int channels, int height, int width, ulong key)
    {
        var rowSin = new float[height];
        var rowCos = new float[height];
        var colSin = new float[width];
        var colCos = new float[width];
        int plane = height * width;
        for (int c = 0; c < channels; c++)
        {
            var image = proto.Slice(c * plane, plane);
            ulong state = Mix(key ^ ((ulong)(uint)c << 32));
            float offset = 0.35f + 0.3f * Uniform(ref state);
            image.Fill(offset);
            float[] amplitude = new float[Waves];
            for (int w = 0; w < Waves; w++)
                amplitude[w] = 0.5f + Uniform(ref state);
            float scale = (0.9f - 0.1f) / 2 / amplitude.Sum(); // the sum of waves stays within ±0.4
            for (int w = 0; w < Waves; w++)
            {
                int fy, fx;
                do
                {
                    fy = (int)(Next(ref state) % (MaxFrequency + 1));
                    fx = (int)(Next(ref state) % (MaxFrequency + 1));
                }
                while (fy == 0 && fx == 0);
                double phase = 2 * Math.PI * Uniform(ref state);
                for (int y = 0; y < height; y++)
                {
                    double a = 2 * Math.PI * fy * y / height;
                    rowSin[y] = (float)Math.Sin(a);
                    rowCos[y] = (float)Math.Cos(a);
                }
                for (int x = 0; x < width; x++)
                {
                    double b = 2 * Math.PI * fx * x / width + phase;
                    colSin[x] = (float)Math.Sin(b);
                    colCos[x] = (float)Math.Cos(b);
                }
                float amp = amplitude[w] * scale;
                for (int y = 0; y < height; y++)
                {
                    var row = image.Slice(y * width, width);
                    float s = amp * rowSin[y], k = amp * rowCos[y];
                    for (int x = 0; x < width; x++)
                        row[x] += s * colCos[x] + k * colSin[x];
                }
            }
        }
    }

    // Independent streams for the label order (domain 1), the prototype of class k (2) and the noise of sample i (3).
    private static ulong Key(ulong root, ulong domain, int index) =>
        Mix(Mix(root + domain * 0x9E3779B97F4A7C15UL) ^ (uint)index);

    private static float Uniform(ref ulong state) => (Next(ref state) >> 40) * (1f / (1 << 24));

    private static ulong Next(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    // SplitMix64's finaliser: a bijective 64-bit mixer.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

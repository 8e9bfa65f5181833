using System.Globalization;

namespace GpuCnn.Data;

// The transforms behind the builder methods of Augmentation, and their random stream.
public sealed partial class Augmentation
{
    private static string F(double v) => v.ToString(CultureInfo.InvariantCulture);

    private static string F(float v) => v.ToString(CultureInfo.InvariantCulture);

    // SplitMix64 stream from a per-(sample, transform) key.
    private struct Rng(ulong state)
    {
        public ulong Next()
        {
            state += 0x9E3779B97F4A7C15UL;
            return Mix(state);
        }

        // 53 random bits: uniform on [0, 1).
        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

        // Multiply-shift onto 0..n-1; the bias (< n / 2^64) is immaterial.
        public int NextInt(int n) => (int)Math.BigMul(Next(), (ulong)n, out _);

        public bool Chance(double p) => NextDouble() < p;
    }

    private abstract class Op
    {
        public virtual void Check(int channels)
        {
        }

        public abstract void Run(Span<float> image, int channels, int height, int width, ref Rng rng);
    }

    private sealed class CropOp(int padding) : Op
    {
        public override void Run(Span<float> image, int channels, int height, int width, ref Rng rng)
        {
            // torchvision draws the crop's top, then its left, in 0..2p of the padded image; out[y, x] = in[y + dy, x + dx].
            int dy = rng.NextInt(2 * padding + 1) - padding;
            int dx = rng.NextInt(2 * padding + 1) - padding;
            if (dy == 0 && dx == 0)
                return;
            int plane = height * width;
            for (int c = 0; c < channels; c++)
            {
                var p = image.Slice(c * plane, plane);
                // In place: walk rows so that each source row is read before it is overwritten.
                for (int i = 0; i < height; i++)
                {
                    int y = dy >= 0 ? i : height - 1 - i;
                    ShiftRow(p, y, y + dy, dx, height, width);
                }
            }
        }

        private static void ShiftRow(Span<float> plane, int y, int from, int dx, int height, int width)
        {
            var row = plane.Slice(y * width, width);
            int keep = width - Math.Abs(dx);
            if ((uint)from >= (uint)height || keep <= 0)
            {
                row.Clear();
                return;
            }
            // Span.CopyTo is memmove, so from == y (a purely horizontal shift) is safe.
            plane.Slice(from * width + Math.Max(dx, 0), keep).CopyTo(row[Math.Max(-dx, 0)..]);
            if (dx > 0)
                row[keep..].Clear();
            else
                row[..(-dx)].Clear();
        }

        public override string ToString() => $"RandomCrop({padding})";
    }

    private sealed class FlipOp(double p) : Op
    {
        public override void Run(Span<float> image, int channels, int height, int width, ref Rng rng)
        {
            if (!rng.Chance(p))
                return;
            for (int r = 0; r < channels * height; r++)
                image.Slice(r * width, width).Reverse();
        }

        public override string ToString() => $"HorizontalFlip({F(p)})";
    }

    private sealed class JitterOp(float brightness, float contrast) : Op
    {
        public override void Run(Span<float> image, int channels, int height, int width, ref Rng rng)
        {
            bool contrastFirst = rng.Chance(0.5);
            float b = Factor(brightness, ref rng);
            float c = Factor(contrast, ref rng);
            if (contrastFirst)
                Contrast(image, channels, c);
            if (brightness > 0)
                for (int i = 0; i < image.Length; i++)
                    image[i] = Math.Clamp(image[i] * b, 0f, 1f);
            if (!contrastFirst)
                Contrast(image, channels, c);
        }

        private static float Factor(float amount, ref Rng rng)
        {
            double lo = Math.Max(0, 1 - (double)amount), hi = 1 + (double)amount;
            return (float)(lo + (hi - lo) * rng.NextDouble());
        }

        private void Contrast(Span<float> image, int channels, float factor)
        {
            if (contrast == 0)
                return;
            float mean = (float)GreyMean(image, channels);
            float blend = (1 - factor) * mean;
            for (int i = 0; i < image.Length; i++)
                image[i] = Math.Clamp(factor * image[i] + blend, 0f, 1f);
        }

        private static double GreyMean(ReadOnlySpan<float> image, int channels)
        {
            double sum = 0;
            if (channels == 3)
            {
                int plane = image.Length / 3;
                for (int i = 0; i < plane; i++)
                    sum += 0.299 * image[i] + 0.587 * image[plane + i] + 0.114 * image[2 * plane + i];
                return sum / plane;
            }
            foreach (float v in image)
                sum += v;
            return sum / image.Length;
        }

        public override string ToString() => $"ColorJitter(brightness: {F(brightness)}, contrast: {F(contrast)})";
    }

    private sealed class GrayOp(double p) : Op
    {
        public override void Check(int channels)
        {
            if (channels is not (1 or 3))
                throw new ArgumentException($"RandomGrayscale needs 1 or 3 channels, the images have {channels}");
        }

        public override void Run(Span<float> image, int channels, int height, int width, ref Rng rng)
        {
            if (!rng.Chance(p) || channels == 1)
                return;
            int plane = height * width;
            var r = image[..plane];
            var g = image.Slice(plane, plane);
            var b = image.Slice(2 * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                float luma = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
                r[i] = g[i] = b[i] = luma;
            }
        }

        public override string ToString() => $"RandomGrayscale({F(p)})";
    }

    private sealed class NormalizeOp(float[] mean, float[] std) : Op
    {
        public override void Check(int channels)
        {
            if (mean.Length != channels)
                throw new ArgumentException(
                    $"Normalize has {mean.Length} mean/std values, the images have {channels} channels");
        }

        public override void Run(Span<float> image, int channels, int height, int width, ref Rng rng)
        {
            int plane = height * width;
            for (int c = 0; c < channels; c++)
            {
                var p = image.Slice(c * plane, plane);
                float m = mean[c], s = std[c];
                for (int i = 0; i < p.Length; i++)
                    p[i] = (p[i] - m) / s;
            }
        }

        public override string ToString() =>
            $"Normalize([{string.Join(", ", mean.Select(v => F(v)))}], [{string.Join(", ", std.Select(v => F(v)))}])";
    }
}

using GpuCnn.Data;
using Xunit;

namespace GpuCnn.Tests.Data;

public class AugmentationTests
{
    private const int C = 3, H = 9, W = 11, N = C * H * W;

    // A black image with one bright pixel at (y, x) in every channel, with a different value per channel.
    private static float[] Dot(int y, int x)
    {
        var image = new float[N];
        for (int c = 0; c < C; c++)
            image[(c * H + y) * W + x] = 0.25f * (c + 1);
        return image;
    }

    private static float[] Run(Augmentation a, float[] src, int epoch = 0, int index = 0, int channels = C, int height = H, int width = W)
    {
        var dst = new float[src.Length];
        a.Apply(src, dst, channels, height, width, epoch, index);
        return dst;
    }

    // Where the dot is in channel 0 of a C x H x W image, or null if it left the image; also checks that every
    // channel has exactly that one non-zero pixel with its own value.
    private static (int Y, int X)? FindDot(float[] image)
    {
        var hits = Enumerable.Range(0, H * W).Where(i => image[i] != 0).ToList();
        Assert.True(hits.Count <= 1, $"{hits.Count} non-zero pixels");
        if (hits.Count == 0)
        {
            Assert.All(image, v => Assert.Equal(0f, v));
            return null;
        }
        int y = hits[0] / W, x = hits[0] % W;
        for (int c = 0; c < C; c++)
        {
            Assert.Equal(0.25f * (c + 1), image[(c * H + y) * W + x]);
            Assert.Equal(1, image.AsSpan(c * H * W, H * W).ToArray().Count(v => v != 0));
        }
        return (y, x);
    }

    [Fact]
    public void EmptyPipelineCopies()
    {
        var src = Dot(2, 3);
        Assert.Equal(src, Run(new Augmentation(1), src));
    }

    [Fact]
    public void HorizontalFlipMirrorsTheColumn()
    {
        var flipped = Run(new Augmentation(1).HorizontalFlip(p: 1), Dot(2, 3));
        Assert.Equal((2, W - 1 - 3), FindDot(flipped));
        Assert.Equal(Dot(2, 3), Run(new Augmentation(1).HorizontalFlip(p: 0), Dot(2, 3)));
    }

    [Fact]
    public void HorizontalFlipHappensAboutHalfTheTime()
    {
        var flip = new Augmentation(3).HorizontalFlip();
        int flips = Enumerable.Range(0, 400).Count(i => FindDot(Run(flip, Dot(0, 0), index: i)) == (0, W - 1));
        Assert.InRange(flips, 150, 250);
    }

    [Fact]
    public void RandomCropTranslatesByAtMostThePadding()
    {
        const int Pad = 2;
        var crop = new Augmentation(7).RandomCrop(Pad);
        var shifts = new HashSet<(int, int)>();
        for (int i = 0; i < 200; i++)
        {
            var dot = FindDot(Run(crop, Dot(4, 5), index: i));
            Assert.NotNull(dot); // (4, 5) is more than Pad from every border, so the dot always stays
            var (dy, dx) = (dot.Value.Y - 4, dot.Value.X - 5);
            Assert.InRange(dy, -Pad, Pad);
            Assert.InRange(dx, -Pad, Pad);
            shifts.Add((dy, dx));
        }
        Assert.Equal(25, shifts.Count); // every offset of the 5 x 5 occurs
    }

    [Fact]
    public void RandomCropMovesTheWholeImageAndZerosEnterFromTheBorder()
    {
        // A full image: every value encodes its own position, so each output pixel tells where it came from.
        var src = Enumerable.Range(0, N).Select(i => i + 1f).ToArray();
        var crop = new Augmentation(5).RandomCrop(3);
        for (int i = 0; i < 40; i++)
        {
            var dst = Run(crop, src, index: i);
            // The shift is that of any pixel that survived; the centre always does.
            int centre = (int)dst[H / 2 * W + W / 2] - 1;
            int dy = centre / W - H / 2, dx = centre % W - W / 2;
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                    {
                        int sy = y + dy, sx = x + dx;
                        float expected = sy is >= 0 and < H && sx is >= 0 and < W ? src[(c * H + sy) * W + sx] : 0f;
                        Assert.Equal(expected, dst[(c * H + y) * W + x]);
                    }
        }
    }

    [Fact]
    public void RandomCropLosesADotNearTheBorderOnlyWhenItIsShiftedOut()
    {
        var crop = new Augmentation(2).RandomCrop(1);
        int lost = 0;
        for (int i = 0; i < 100; i++)
        {
            var dot = FindDot(Run(crop, Dot(0, W - 1), index: i));
            if (dot is null)
                lost++;
            else
                Assert.True(dot.Value.Y <= 1 && dot.Value.X >= W - 2);
        }
        Assert.InRange(lost, 30, 85); // 5 of the 9 offsets push it out
    }

    [Fact]
    public void FlipAndCropComposeInPipelineOrder()
    {
        // The draws of a transform depend on its position, not on what precedes it, so a flip that never happens
        // reveals the crop offset of the same position.
        for (int i = 0; i < 30; i++)
        {
            var offset = FindDot(Run(new Augmentation(9).HorizontalFlip(p: 0).RandomCrop(2), Dot(4, 3), index: i))!.Value;
            int dy = offset.Y - 4, dx = offset.X - 3;
            // Flip first: the dot goes to column W-1-3, then moves by the crop.
            var flipThenCrop = Run(new Augmentation(9).HorizontalFlip(p: 1).RandomCrop(2), Dot(4, 3), index: i);
            Assert.Equal((4 + dy, W - 1 - 3 + dx), FindDot(flipThenCrop));

            var cropOffset = FindDot(Run(new Augmentation(9).RandomCrop(2), Dot(4, 3), index: i))!.Value;
            int cy = cropOffset.Y - 4, cx = cropOffset.X - 3;
            // Crop first: the shifted dot is then mirrored.
            var cropThenFlip = Run(new Augmentation(9).RandomCrop(2).HorizontalFlip(p: 1), Dot(4, 3), index: i);
            Assert.Equal((4 + cy, W - 1 - (3 + cx)), FindDot(cropThenFlip));
        }
    }

    [Fact]
    public void DependsOnlyOnSeedEpochAndIndex()
    {
        var src = Enumerable.Range(0, N).Select(i => (i % 17) / 17f).ToArray();
        Augmentation Make(int seed) => new Augmentation(seed).RandomCrop(2).HorizontalFlip().ColorJitter(0.4f, 0.4f).RandomGrayscale(0.3);
        var a = Make(1);
        // The same call on another instance, on other threads, in another order gives the same result.
        var expected = Enumerable.Range(0, 50).Select(i => Run(a, src, epoch: 3, index: i)).ToArray();
        var b = Make(1);
        var parallel = new float[50][];
        Parallel.For(0, 50, i => parallel[49 - i] = Run(b, src, epoch: 3, index: 49 - i));
        Assert.Equal(expected, parallel);

        int sameAcrossEpochs = Enumerable.Range(0, 50).Count(i => Run(a, src, epoch: 4, index: i).SequenceEqual(expected[i]));
        Assert.True(sameAcrossEpochs < 10, $"{sameAcrossEpochs} of 50 samples unchanged by a new epoch");
        int sameAcrossSeeds = Enumerable.Range(0, 50).Count(i => Run(Make(2), src, epoch: 3, index: i).SequenceEqual(expected[i]));
        Assert.True(sameAcrossSeeds < 10, $"{sameAcrossSeeds} of 50 samples unchanged by a new seed");
        Assert.Equal(50, expected.Select(e => string.Join(",", e)).Distinct().Count()); // indices differ too
    }

    [Fact]
    public void NewEpochGivesNewCrops()
    {
        var crop = new Augmentation(4).RandomCrop(3);
        int differ = Enumerable.Range(0, 100).Count(i =>
            FindDot(Run(crop, Dot(4, 5), epoch: 0, index: i)) != FindDot(Run(crop, Dot(4, 5), epoch: 1, index: i)));
        Assert.True(differ > 80, $"only {differ} of 100 crops changed"); // 1/49 should repeat
    }

    [Fact]
    public void AppendingATransformKeepsTheEarlierDraws()
    {
        var src = Dot(4, 5);
        for (int i = 0; i < 20; i++)
        {
            var crop = FindDot(Run(new Augmentation(6).RandomCrop(2), src, index: i));
            var cropThenNormalize = Run(new Augmentation(6).RandomCrop(2).Normalize([0, 0, 0], [1, 1, 1]), src, index: i);
            Assert.Equal(crop, FindDot(cropThenNormalize));
        }
    }

    [Fact]
    public void NormalizeIsExactPerChannel()
    {
        var src = Enumerable.Range(0, N).Select(i => (i % 13) / 13f).ToArray();
        float[] mean = [0.1f, 0.5f, 0.9f], std = [0.2f, 0.3f, 0.7f];
        var dst = Run(new Augmentation(0).Normalize(mean, std), src);
        for (int i = 0; i < N; i++)
        {
            int c = i / (H * W);
            Assert.Equal((src[i] - mean[c]) / std[c], dst[i]);
        }
    }

    [Fact]
    public void NormalizeCopiesItsArraysAndChecksTheChannelCountAtApply()
    {
        float[] mean = [0.5f, 0.5f, 0.5f];
        var a = new Augmentation(0).Normalize(mean, [1, 1, 1]);
        mean[0] = 100;
        Assert.Equal(-0.5f, Run(a, new float[N])[0]);

        var e = Assert.Throws<ArgumentException>(() => Run(a, new float[H * W], channels: 1));
        Assert.Contains("3 mean/std values, the images have 1 channels", e.Message);
        Assert.Throws<ArgumentException>(() => new Augmentation(0).Normalize([0, 0], [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(0).Normalize([0], [0]));
    }

    [Fact]
    public void ColorJitterOfZeroIsTheIdentity()
    {
        // Values outside [0, 1] included: a disabled jitter must not even clamp.
        var src = Enumerable.Range(0, N).Select(i => (i % 23) / 10f - 0.5f).ToArray();
        Assert.Equal(src, Run(new Augmentation(1).ColorJitter(), src));
        Assert.Equal(src, Run(new Augmentation(1).ColorJitter(0, 0), src, index: 5));
    }

    [Fact]
    public void BrightnessScalesByAFactorInRange()
    {
        var src = Enumerable.Range(0, N).Select(i => 0.1f + (i % 7) / 10f).ToArray(); // 0.1 .. 0.7
        var jitter = new Augmentation(3).ColorJitter(brightness: 0.4f);
        var factors = new List<float>();
        for (int i = 0; i < 100; i++)
        {
            var dst = Run(jitter, src, index: i);
            float f = dst[0] / src[0];
            Assert.InRange(f, 0.6f - 1e-5f, 1.4f + 1e-5f);
            for (int p = 0; p < N; p++)
                Assert.Equal(Math.Min(1f, src[p] * f), dst[p], 1e-5f);
            factors.Add(f);
        }
        Assert.True(factors.Min() < 0.7f && factors.Max() > 1.3f, "factors should span [0.6, 1.4]");
    }

    [Fact]
    public void ContrastBlendsWithTheGreyMean()
    {
        var src = Enumerable.Range(0, N).Select(i => 0.2f + (i % 5) / 10f).ToArray(); // 0.2 .. 0.6
        double grey = 0;
        for (int p = 0; p < H * W; p++)
            grey += 0.299 * src[p] + 0.587 * src[H * W + p] + 0.114 * src[2 * H * W + p];
        grey /= H * W;
        var jitter = new Augmentation(8).ColorJitter(contrast: 0.5f);
        for (int i = 0; i < 30; i++)
        {
            var dst = Run(jitter, src, index: i);
            // dst = f·src + (1 − f)·grey for one f in [0.5, 1.5]: solve with two pixels of different value.
            float f = (dst[1] - dst[0]) / (src[1] - src[0]);
            Assert.InRange(f, 0.5f - 1e-4f, 1.5f + 1e-4f);
            for (int p = 0; p < N; p++)
                Assert.Equal(Math.Clamp(f * src[p] + (1 - f) * grey, 0, 1), dst[p], 1e-4);
        }
    }

    [Fact]
    public void GrayscaleUsesTheLumaFormulaOnEveryChannel()
    {
        var src = Enumerable.Range(0, N).Select(i => (i * 37 % 101) / 100f).ToArray();
        var dst = Run(new Augmentation(0).RandomGrayscale(p: 1), src);
        for (int p = 0; p < H * W; p++)
        {
            float luma = 0.299f * src[p] + 0.587f * src[H * W + p] + 0.114f * src[2 * H * W + p];
            Assert.Equal(luma, dst[p], 1e-6f);
            Assert.Equal(dst[p], dst[H * W + p]);
            Assert.Equal(dst[p], dst[2 * H * W + p]);
        }
        Assert.Equal(src, Run(new Augmentation(0).RandomGrayscale(p: 0), src));

        var one = src[..(H * W)];
        Assert.Equal(one, Run(new Augmentation(0).RandomGrayscale(p: 1), one, channels: 1));
        Assert.Throws<ArgumentException>(() => Run(new Augmentation(0).RandomGrayscale(1), new float[2 * H * W], channels: 2));
    }

    [Fact]
    public void ApplyWorksInPlaceAndChecksLengths()
    {
        var a = new Augmentation(3).RandomCrop(2).HorizontalFlip();
        for (int i = 0; i < 20; i++)
        {
            var src = Dot(4, 5);
            var expected = Run(a, src, index: i);
            a.Apply(src, src, C, H, W, 0, i);
            Assert.Equal(expected, src);
        }
        Assert.Throws<ArgumentException>(() => a.Apply(new float[N], new float[N - 1], C, H, W, 0, 0));
        Assert.Throws<ArgumentException>(() => a.Apply(new float[N + 1], new float[N + 1], C, H, W, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(0).HorizontalFlip(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(0).RandomCrop(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Augmentation(0).ColorJitter(brightness: -0.1f));
    }

    [Fact]
    public void DescribesItself()
    {
        var a = new Augmentation(1).RandomCrop(4).HorizontalFlip().Normalize([0.5f], [0.25f]);
        Assert.Equal(3, a.Count);
        Assert.Equal("Augmentation(seed 1: RandomCrop(4), HorizontalFlip(0.5), Normalize([0.5], [0.25]))", a.ToString());
    }
}

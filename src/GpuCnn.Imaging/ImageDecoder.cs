using SkiaSharp;

namespace GpuCnn.Imaging;

/// <summary>Decodes PNG and JPEG files with SkiaSharp into square CHW float images in [0, 1].</summary>
public static class ImageDecoder
{
    /// <summary>
    /// Decodes <paramref name="path"/>, takes its centred square (the shorter side) and resamples it to
    /// <paramref name="size"/> x <paramref name="size"/>, which is resize-then-centre-crop in one step. Three channels
    /// give RGB; one gives luminance (0.299 R + 0.587 G + 0.114 B). Alpha is ignored.
    /// </summary>
    /// <exception cref="Data.DataFormatException">The file is not an image SkiaSharp can read, or is truncated.</exception>
    public static float[] Decode(string path, int size, int channels)
    {
        using var stream = File.OpenRead(path);
        return Decode(stream, path, size, channels);
    }

    /// <summary>As <see cref="Decode(string, int, int)"/>, from a stream; <paramref name="name"/> is used in errors.</summary>
    public static float[] Decode(Stream stream, string name, int size, int channels)
    {
        if (channels is not (1 or 3)) throw new ArgumentException($"images decode to 1 or 3 channels, not {channels}");
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        using var codec = SKCodec.Create(stream, out var why)
            ?? throw new GpuCnn.Data.DataFormatException(name, $"not a readable image ({why})");
        int w = codec.Info.Width, h = codec.Info.Height;
        // A forged header must not allocate gigabytes: 64 megapixels is far beyond any training image.
        if (w < 1 || h < 1 || (long)w * h > 64L << 20) throw new GpuCnn.Data.DataFormatException(name, $"image size {w}x{h} is out of range");
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var full = new SKBitmap(info);
        var result = codec.GetPixels(info, full.GetPixels());
        if (result != SKCodecResult.Success)
            throw new GpuCnn.Data.DataFormatException(name, result == SKCodecResult.IncompleteInput ? "truncated image" : $"cannot decode image ({result})");
        int side = Math.Min(w, h);
        var src = SKRectI.Create((w - side) / 2, (h - side) / 2, side, side);
        using var square = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(square))
        using (var image = SKImage.FromBitmap(full))
        using (var paint = new SKPaint { BlendMode = SKBlendMode.Src })
            canvas.DrawImage(image, src, SKRect.Create(size, size), new SKSamplingOptions(SKCubicResampler.Mitchell), paint);
        var px = square.GetPixelSpan();
        var outp = new float[channels * size * size];
        int plane = size * size;
        for (int i = 0; i < plane; i++)
        {
            float r = px[4 * i] / 255f, g = px[4 * i + 1] / 255f, b = px[4 * i + 2] / 255f;
            if (channels == 1) outp[i] = 0.299f * r + 0.587f * g + 0.114f * b;
            else
            {
                outp[i] = r;
                outp[plane + i] = g;
                outp[2 * plane + i] = b;
            }
        }
        return outp;
    }
}

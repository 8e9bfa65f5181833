using System.Text.Json;
using GpuCnn.Data;
using GpuCnn.Imaging;
using SkiaSharp;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// Image folders on the test's own drawings: PNG and JPEG, grey-scale, RGBA and odd sizes; corrupt files skipped or
/// fatal; a model that learns them; predict naming the class of a held-out image.
/// </summary>
public class ImageFolderTests : IDisposable
{
    static readonly string[] Classes = ["disc", "horizontal", "vertical"];
    readonly string dir = Path.Combine(Path.GetTempPath(), "gpucnn-images-" + Guid.NewGuid().ToString("N"));

    public ImageFolderTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>A bright shape of class <paramref name="k"/> on a dark background, jittered by the seed.</summary>
    static SKBitmap Draw(int k, int w, int h, int seed, SKColorType type = SKColorType.Rgba8888)
    {
        var rng = new Random(seed);
        var bmp = new SKBitmap(new SKImageInfo(w, h, type, type == SKColorType.Gray8 ? SKAlphaType.Opaque : SKAlphaType.Unpremul));
        using var c = new SKCanvas(bmp);
        c.Clear(new SKColor((byte)rng.Next(40), (byte)rng.Next(40), (byte)rng.Next(40), 255));
        using var paint = new SKPaint { Color = new SKColor((byte)(180 + rng.Next(75)), (byte)(150 + rng.Next(100)), (byte)(120 + rng.Next(130)), 255), IsAntialias = true };
        float s = Math.Min(w, h), ox = (w - s) / 2 + rng.Next(-2, 3), oy = (h - s) / 2 + rng.Next(-2, 3);
        switch (k)
        {
            case 0: c.DrawCircle(ox + s / 2, oy + s / 2, s * (0.25f + 0.1f * (float)rng.NextDouble()), paint); break;
            case 1: for (int i = 0; i < 3; i++) c.DrawRect(ox, oy + s * (0.15f + 0.3f * i), s, s * 0.12f, paint); break;
            default: for (int i = 0; i < 3; i++) c.DrawRect(ox + s * (0.15f + 0.3f * i), oy, s * 0.12f, s, paint); break;
        }
        return bmp;
    }

    static void Save(SKBitmap bmp, string path)
    {
        using var image = SKImage.FromBitmap(bmp);
        var format = path.EndsWith(".png", StringComparison.Ordinal) ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg;
        using var data = image.Encode(format, 90);
        Assert.NotNull(data);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>Writes <paramref name="perClass"/> images per class under <paramref name="root"/>, in every flavour.</summary>
    static void MakeFolder(string root, int perClass, int seed)
    {
        for (int k = 0; k < Classes.Length; k++)
        {
            string d = Path.Combine(root, Classes[k]);
            Directory.CreateDirectory(d);
            for (int i = 0; i < perClass; i++)
            {
                int flavour = i % 4, sd = seed * 1000 + k * 100 + i;
                // Flavours: a square RGB PNG, an odd-sized JPEG, a grey-scale PNG, an RGBA PNG with some transparency.
                using var bmp = flavour switch
                {
                    0 => Draw(k, 40, 40, sd),
                    1 => Draw(k, 37, 29, sd),
                    2 => Draw(k, 33, 33, sd, SKColorType.Gray8),
                    _ => Draw(k, 30, 44, sd),
                };
                if (flavour == 3) bmp.SetPixel(0, 0, new SKColor(255, 255, 255, 0));
                Save(bmp, Path.Combine(d, $"img{i:D2}.{(flavour == 1 ? "jpg" : "png")}"));
            }
        }
    }

    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Decoding_resizes_and_centre_crops_every_flavour()
    {
        MakeFolder(dir, 4, 1);
        var f = ImageFolder.Load(dir, new ImageFolderOptions { ImageSize = 16, Channels = 3, ValFraction = 0.25, Seed = 3 });
        Assert.Equal(Classes, f.ClassNames);
        Assert.Equal(9, f.Train.Count);
        Assert.Equal(3, f.Test.Count);
        Assert.Empty(f.Skipped);
        Assert.Equal((3, 16, 16), (f.Train.Channels, f.Train.Height, f.Train.Width));
        Assert.All(f.Train.Images, v => Assert.InRange(v, 0f, 1f));
        // The grey-scale PNG decodes to three equal channels.
        var grey = ImageDecoder.Decode(Path.Combine(dir, "disc", "img02.png"), 16, 3);
        for (int i = 0; i < 256; i++) Assert.Equal(grey[i], grey[256 + i], 3);
        // Centre crop of a wide image: a 60x20 picture, left and right thirds black, the middle white.
        using var wide = new SKBitmap(new SKImageInfo(60, 20, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var c = new SKCanvas(wide)) { c.Clear(SKColors.Black); c.DrawRect(20, 0, 20, 20, new SKPaint { Color = SKColors.White }); }
        string widePath = Path.Combine(dir, "wide.png");
        Save(wide, widePath);
        Assert.All(ImageDecoder.Decode(widePath, 8, 1), v => Assert.Equal(1f, v, 2));
        var (mean, std) = ImageFolder.Statistics(f.Train);
        Assert.Equal(3, mean.Length);
        Assert.All(std, s => Assert.True(s > 0.05f));
    }

    [Fact]
    public void Corrupt_files_are_skipped_with_their_path_or_end_the_run_under_strict_data()
    {
        MakeFolder(dir, 4, 2);
        string truncated = Path.Combine(dir, "disc", "zz-truncated.png"), garbage = Path.Combine(dir, "vertical", "zz-garbage.jpg");
        var good = File.ReadAllBytes(Path.Combine(dir, "disc", "img00.png"));
        File.WriteAllBytes(truncated, good[..(good.Length / 2)]);
        File.WriteAllBytes(garbage, "not an image at all"u8.ToArray());
        var warnings = new List<string>();
        var f = ImageFolder.Load(dir, new ImageFolderOptions { ImageSize = 12, Channels = 1, Warn = warnings.Add });
        Assert.Equal(2, f.Skipped.Count);
        Assert.Contains(f.Skipped, s => s.StartsWith(truncated, StringComparison.Ordinal));
        Assert.Contains(f.Skipped, s => s.StartsWith(garbage, StringComparison.Ordinal));
        Assert.Equal(12, f.Train.Count + f.Test.Count);
        Assert.Equal(2, warnings.Count);

        var (code, _, err) = Run("train", "lenet5", "--device", "cpu", "--data", dir, "--epochs", "1", "--strict-data");
        Assert.Equal(1, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains(truncated, err); // the first bad file in path order
        Assert.DoesNotContain("   at ", err);
    }

    /// <summary>Mutated and truncated PNG and JPEG bytes either decode to the right size or fail with DataFormatException.</summary>
    [Fact]
    public void Fuzzed_files_never_crash_the_decoder()
    {
        var rng = new Random(42);
        var seeds = new List<byte[]>();
        foreach (var ext in new[] { "png", "jpg" })
        {
            string p = Path.Combine(dir, "seed." + ext);
            using var bmp = Draw(1, 23, 17, 5);
            Save(bmp, p);
            seeds.Add(File.ReadAllBytes(p));
        }
        int decoded = 0, rejected = 0;
        for (int it = 0; it < 300; it++)
        {
            var b = (byte[])seeds[it % 2].Clone();
            int mode = rng.Next(3);
            if (mode == 0) b = b[..rng.Next(b.Length)];
            else for (int n = rng.Next(1, 12); n > 0; n--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
            if (mode == 2) b = b[..Math.Max(1, b.Length - rng.Next(64))];
            try
            {
                var img = ImageDecoder.Decode(new MemoryStream(b), $"fuzz{it}", 8, 3);
                Assert.Equal(3 * 64, img.Length);
                Assert.All(img, v => Assert.True(v is >= 0f and <= 1f));
                decoded++;
            }
            catch (DataFormatException e)
            {
                Assert.StartsWith($"fuzz{it}: ", e.Message);
                rejected++;
            }
        }
        Assert.True(decoded > 0 && rejected > 0, $"decoded {decoded}, rejected {rejected}");
    }

    [Fact]
    public void A_model_learns_the_folder_and_predict_names_a_held_out_image()
    {
        string data = Path.Combine(dir, "shapes");
        MakeFolder(Path.Combine(data, "train"), 24, 3);
        MakeFolder(Path.Combine(data, "val"), 6, 4);
        string ckpt = Path.Combine(dir, "shapes.ckpt"), metrics = Path.Combine(dir, "m.json");
        var (code, o, err) = Run("train", "lenet5", "--device", "cpu", "--data", data, "--epochs", "6", "--batch-size", "8",
            "--lr", "0.05", "--schedule", "constant", "--seed", "1", "--save", ckpt, "--metrics", metrics);
        Assert.True(code == 0, err + o);
        Assert.Contains("image folder", o);
        using var doc = JsonDocument.Parse(File.ReadAllText(metrics));
        Assert.Equal(18, doc.RootElement.GetProperty("test_images").GetInt32());
        double acc = doc.RootElement.GetProperty("test_accuracy").GetDouble();
        Assert.True(acc >= 0.8, $"held-out accuracy {acc} (chance 0.33)\n{o}");

        // eval reads the per-channel statistics from the checkpoint and reproduces the accuracy.
        var ev = Run("eval", "lenet5", "--device", "cpu", "--load", ckpt, "--data", data, "--metrics", Path.Combine(dir, "e.json"));
        Assert.True(ev.Code == 0, ev.Err);
        using (var e = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "e.json"))))
            Assert.Equal(acc, e.RootElement.GetProperty("test_accuracy").GetDouble(), 6);

        // Fresh drawings, never seen in training: predict names their class from the checkpoint's class names.
        var files = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            string p = Path.Combine(dir, $"new-{Classes[k]}.png");
            using var bmp = Draw(k, 35, 35, 9000 + k);
            Save(bmp, p);
            files.Add(p);
        }
        var pr = Run(["predict", "lenet5", "--device", "cpu", "--load", ckpt, .. files, "--json", "--top", "2"]);
        Assert.True(pr.Code == 0, pr.Err);
        using var pj = JsonDocument.Parse(pr.Out);
        var preds = pj.RootElement.GetProperty("predictions").EnumerateArray().ToList();
        Assert.Equal(3, preds.Count);
        for (int k = 0; k < 3; k++)
        {
            var top = preds[k].GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(2, top.Count);
            Assert.Equal(Classes[k], top[0].GetProperty("class").GetString());
            Assert.True(top[0].GetProperty("probability").GetDouble() > top[1].GetProperty("probability").GetDouble());
        }
        var text = Run("predict", "lenet5", "--device", "cpu", "--load", ckpt, files[0]);
        Assert.Matches(@"new-disc\.png: disc \d+\.\d%", text.Out);
        var missing = Run("predict", "lenet5", "--device", "cpu", "--load", ckpt, Path.Combine(dir, "nope.png"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("nope.png", missing.Err);
    }
}

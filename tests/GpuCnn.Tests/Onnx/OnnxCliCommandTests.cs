using System.Text.Json;
using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Imaging;
using GpuCnn.Serialization;
using GpuCnn.Serialization.Onnx;
using SkiaSharp;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Onnx;

/// <summary><c>gpucnn import</c> and <c>--onnx FILE</c> for summary and predict, on an exported LeNet-5.</summary>
public class OnnxCliCommandTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "gpucnn-onnxcli-" + Guid.NewGuid().ToString("N"));
    readonly string onnx;

    public OnnxCliCommandTests()
    {
        Directory.CreateDirectory(dir);
        onnx = Path.Combine(dir, "x.onnx");
        var (code, _, e) = Run("export", "lenet5", "--seed", "2", "-o", onnx);
        Assert.True(code == 0, e);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    static string TotalLine(string output) => output.Split('\n').Single(l => l.StartsWith("total parameters:", StringComparison.Ordinal)).Trim();

    [Fact]
    public void Import_prints_the_summary_and_saves_the_onnx_weights_as_safetensors()
    {
        string st = Path.Combine(dir, "w.safetensors");
        var (code, o, e) = Run("import", onnx, "--save", st);
        Assert.True(code == 0, e);
        Assert.Contains("input [N, 1, 28, 28]", o);
        Assert.Equal("total parameters: 61,706", TotalLine(o));
        Assert.Contains("conv1", o);

        var model = OnnxImport.Load(onnx);
        var dict = Safetensors.Load(st);
        using var dev = DeviceManager.Open("cpu");
        using var store = new ParameterStore(model.Graph, new[] { dev });
        dict.LoadInto(store);
        Assert.Equal(model.Graph.Parameters.Count, model.Weights.Count);
        foreach (var p in model.Graph.Parameters)
            Assert.Equal(model.Weights[p.FullName], store.Get(p));
        Assert.Contains(model.Weights["conv1.weight"], v => v != 0);
    }

    [Fact]
    public void Summary_of_the_onnx_file_matches_the_zoo_model()
    {
        var zoo = Run("summary", "lenet5");
        var (code, o, e) = Run("summary", "--onnx", onnx);
        Assert.True(code == 0, e);
        Assert.Equal(TotalLine(zoo.Out), TotalLine(o));
        string Flops(string s) => s.Split('\n').Single(l => l.StartsWith("forward FLOPs", StringComparison.Ordinal));
        Assert.Equal(Flops(zoo.Out), Flops(o));
        var json = Run("summary", "--onnx", onnx, "--json");
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(28, doc.RootElement.GetProperty("image_size").GetInt32());
        Assert.Equal(10, doc.RootElement.GetProperty("classes").GetInt32());
        Assert.Equal(61706, doc.RootElement.GetProperty("total_parameters").GetInt64());
    }

    [Fact]
    public void Predict_with_the_onnx_file_gives_the_forward_pass_of_its_weights()
    {
        string png = Path.Combine(dir, "digit.png");
        using (var bmp = new SKBitmap(28, 28, SKColorType.Gray8, SKAlphaType.Opaque))
        {
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                    bmp.SetPixel(x, y, (x > 10 && x < 16) || (y * 7 + x * 3) % 11 == 0 ? SKColors.White : SKColors.Black);
            using var image = SKImage.FromBitmap(bmp);
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(png, data.ToArray());
        }
        var (code, o, e) = Run("predict", "--onnx", onnx, png, "--device", "cpu", "--top", "10", "--json");
        Assert.True(code == 0, e);

        // The reference: the imported graph and weights run directly on the decoded pixels (no normalisation).
        var model = OnnxImport.Load(onnx);
        using var dev = DeviceManager.Open("cpu");
        using var ex = new Executor(model.Graph, dev, 1, new ExecutorOptions { Training = false });
        model.CopyTo(ex.Parameters);
        ex.SetInput(ImageDecoder.Decode(png, 28, 1));
        ex.Forward();
        var z = ex.GetOutput();
        double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
        using var doc = JsonDocument.Parse(o);
        var top = doc.RootElement.GetProperty("predictions")[0].GetProperty("top");
        Assert.Equal(10, top.GetArrayLength());
        foreach (var t in top.EnumerateArray())
        {
            int j = t.GetProperty("index").GetInt32();
            Assert.Equal(Math.Exp(z[j] - max) / sum, t.GetProperty("probability").GetDouble(), 1e-9);
        }
        Assert.Equal(Array.IndexOf(z, z.Max()), top[0].GetProperty("index").GetInt32());

        // With --load the checkpoint's weights and normalisation replace the file's: the same as predicting with the zoo model.
        string ck = Path.Combine(dir, "p.ck");
        Assert.Equal(0, Run("train", "lenet5", "--device", "cpu", "--data", "synthetic", "--synthetic-count", "32", "--steps", "2", "--batch-size", "16", "--save", ck).Code);
        var viaOnnx = Run("predict", "--onnx", onnx, "--load", ck, png, "--device", "cpu", "--json");
        var viaZoo = Run("predict", "lenet5", "--load", ck, png, "--device", "cpu", "--json");
        Assert.True(viaOnnx.Code == 0 && viaZoo.Code == 0, viaOnnx.Err + viaZoo.Err);
        string Preds(string json) => JsonDocument.Parse(json).RootElement.GetProperty("predictions").GetRawText();
        Assert.Equal(Preds(viaZoo.Out), Preds(viaOnnx.Out));
        Assert.NotEqual(Preds(o), Preds(viaOnnx.Out));
    }

    [Fact]
    public void Eval_with_the_onnx_file_matches_eval_of_the_checkpoint_it_was_exported_from()
    {
        string ck = Path.Combine(dir, "t.ck"), t = Path.Combine(dir, "t.onnx"), ma = Path.Combine(dir, "a.json"), mb = Path.Combine(dir, "b.json");
        string[] data = ["--device", "cpu", "--data", "synthetic", "--synthetic-count", "64"];
        Assert.Equal(0, Run(["train", "lenet5", .. data, "--steps", "3", "--batch-size", "16", "--seed", "1", "--save", ck]).Code);
        Assert.Equal(0, Run("export", "lenet5", "--load", ck, "-o", t).Code);
        var a = Run(["eval", "lenet5", "--load", ck, .. data, "--metrics", ma]);
        var b = Run(["eval", "--onnx", t, .. data, "--metrics", mb]);
        Assert.True(a.Code == 0 && b.Code == 0, a.Err + b.Err);
        Assert.Contains($"from {t}:", b.Out);
        using var ja = JsonDocument.Parse(File.ReadAllText(ma));
        using var jb = JsonDocument.Parse(File.ReadAllText(mb));
        Assert.Equal(ja.RootElement.GetProperty("test_images").GetInt32(), jb.RootElement.GetProperty("test_images").GetInt32());
        Assert.Equal(ja.RootElement.GetProperty("test_loss").GetDouble(), jb.RootElement.GetProperty("test_loss").GetDouble(), 1e-6);
        Assert.Equal(ja.RootElement.GetProperty("test_accuracy").GetDouble(), jb.RootElement.GetProperty("test_accuracy").GetDouble());
        // The seed-2 export differs from the trained weights, and --load puts the checkpoint's in its place.
        var c = Run(["eval", "--onnx", onnx, "--load", ck, .. data, "--metrics", mb]);
        Assert.True(c.Code == 0, c.Err);
        using var jc = JsonDocument.Parse(File.ReadAllText(mb));
        Assert.Equal(ja.RootElement.GetProperty("test_loss").GetDouble(), jc.RootElement.GetProperty("test_loss").GetDouble(), 1e-6);
    }

    [Fact]
    public void Train_with_the_onnx_file_starts_from_its_weights()
    {
        string st = Path.Combine(dir, "w.safetensors"), ma = Path.Combine(dir, "a.json"), mb = Path.Combine(dir, "b.json"), mc = Path.Combine(dir, "c.json");
        Assert.Equal(0, Run("import", onnx, "--save", st).Code);
        string[] common = ["--device", "cpu", "--data", "synthetic", "--synthetic-count", "64", "--steps", "3", "--batch-size", "16", "--lr", "0.05", "--seed", "1"];
        var a = Run(["train", "--onnx", onnx, .. common, "--metrics", ma]);
        var b = Run(["train", "lenet5", "--init-from", st, .. common, "--metrics", mb]);
        var c = Run(["train", "lenet5", .. common, "--metrics", mc]);
        Assert.True(a.Code == 0 && b.Code == 0 && c.Code == 0, a.Err + b.Err + c.Err);
        double[] Losses(string f)
        {
            using var d = JsonDocument.Parse(File.ReadAllText(f));
            return d.RootElement.GetProperty("losses").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        }
        Assert.Equal(3, Losses(ma).Length);
        Assert.Equal(Losses(mb), Losses(ma));      // the ONNX weights, as the safetensors import gives them
        Assert.NotEqual(Losses(mc), Losses(ma));   // not the seed-1 initialisation (the export is seed 2)
    }

    [Fact]
    public void Bad_files_and_bad_usage_are_one_line_errors()
    {
        string missing = Path.Combine(dir, "missing.onnx"), junk = Path.Combine(dir, "junk.onnx");
        File.WriteAllBytes(junk, [0xFF, 0xFF, 0xFF, 0x07, 0x01]);
        foreach (var (args, code, text) in new (string[], int, string)[]
        {
            (["import", missing], 1, "missing.onnx: no such file"),
            (["import", junk, "--save", Path.Combine(dir, "w.safetensors")], 1, "junk.onnx"),
            (["summary", "--onnx", missing], 1, "missing.onnx: no such file"),
            (["predict", "--onnx", missing, "a.png"], 1, "missing.onnx: no such file"),
            (["summary", "lenet5", "--onnx", onnx], 2, "a model name or --onnx FILE, not both"),
            (["predict", "lenet5", "--onnx", onnx, "a.png"], 2, "a model name or --onnx FILE, not both"),
            (["summary"], 2, "takes one model name or --onnx FILE"),
            (["import"], 2, "takes one ONNX file"),
            (["summary", "--onnx", onnx, "--image-size", "32"], 2, "do not apply to --onnx"),
            (["eval", "--onnx", onnx, "--device", "cpu", "--data", "synthetic", "--synthetic-count", "16", "--image-size", "32"], 1,
                "x.onnx: the model takes [1, 28, 28] images and has 10 outputs; the data has [1, 32, 32] images of 10 classes"),
            (["eval", "lenet5", "--onnx", onnx], 2, "a model name or --onnx FILE, not both"),
            (["train", "--onnx", onnx, "--init-from", "w.safetensors"], 2, "--onnx and --init-from both give the starting weights"),
            (["train", "--onnx", onnx, "--device", "cpu", "--data", "cifar10", "--data-dir", dir], 1, "data_batch_1.bin"),
        })
        {
            var r = Run(args);
            Assert.True(r.Code == code, $"{string.Join(' ', args)}: {r.Code} {r.Err}");
            Assert.Contains(text, r.Err);
            Assert.DoesNotContain("   at ", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
        }
        Assert.False(File.Exists(Path.Combine(dir, "w.safetensors")));
    }
}

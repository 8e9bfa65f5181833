using System.Text.Json;
using GpuCnn.Cli;
using GpuCnn.Data;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

public class CliTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "gpucnn-cli-" + Guid.NewGuid().ToString("N"));

    public CliTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Devices_lists_the_cpu_accelerator()
    {
        var (code, o, _) = Run("devices");
        Assert.Equal(0, code);
        Assert.Matches(@"cpu:0\s+CPU accelerator", o);
        Assert.Contains("usable", o);
    }

    [Fact]
    public void Summary_prints_shapes_parameters_receptive_fields_and_total()
    {
        var (code, o, _) = Run("summary", "lenet5");
        Assert.Equal(0, code);
        var lines = o.TrimEnd().Split('\n');
        Assert.Equal("total parameters: 61,706", lines[^1].Trim());
        Assert.Matches(@"conv1\s+Conv2d\s+\[6, 28, 28\]\s+156\s+5x5", o);
        Assert.Matches(@"pool1\s+MaxPool2d\s+\[6, 14, 14\]\s+0\s+6x6", o);
        Assert.Matches(@"conv2\s+Conv2d\s+\[16, 10, 10\]\s+2,416\s+14x14", o);
        Assert.Matches(@"pool2\s+MaxPool2d\s+\[16, 5, 5\]\s+0\s+16x16", o);
        Assert.Matches(@"fc1\s+Linear\s+\[120\]\s+48,120\s+full", o);
    }

    [Fact]
    public void Unknown_model_device_command_and_option_list_the_choices()
    {
        var m = Run("train", "lenet7");
        Assert.Equal(2, m.Code);
        Assert.Contains("unknown model 'lenet7'", m.Err);
        Assert.Contains("lenet5", m.Err);

        var d = Run("train", "lenet5", "--device", "tpu");
        Assert.NotEqual(0, d.Code);
        Assert.Contains("unknown device 'tpu'", d.Err);
        Assert.Contains("cuda[:N], opencl[:N], cpu", d.Err);

        var c = Run("fly");
        Assert.Equal(2, c.Code);
        Assert.Contains("train, eval, bench, summary, devices", c.Err);

        var o = Run("train", "lenet5", "--epoch", "3");
        Assert.Equal(2, o.Code);
        Assert.Contains("--epoch", o.Err);

        var n = Run("train", "lenet5", "--lr", "fast");
        Assert.Equal(2, n.Code);
        Assert.Contains("--lr must be a number", n.Err);
    }

    [SkippableFact]
    public void Missing_device_kind_is_explained()
    {
        Skip.If(GpuCnn.Devices.DeviceManager.List().Any(x => x.Kind == GpuCnn.Devices.DeviceKind.Cuda),
            "this machine has a CUDA device, so 'cuda:0' is not missing");
        var (code, _, err) = Run("train", "lenet5", "--device", "cuda:0");
        Assert.NotEqual(0, code);
        Assert.Contains("'cuda:0' not found", err);
        Assert.Contains("cpu:0", err);
    }

    [Fact]
    public void Corrupt_idx_data_gives_one_line_naming_the_file_and_exits_non_zero()
    {
        var (train, test) = Mnist.LoadBundled();
        void Write(string name, int[] dims, byte[] data) => Idx.Write(Path.Combine(dir, name), new IdxArray(dims, data), gzip: false);
        Write("train-images-idx3-ubyte", new[] { 4, 28, 28 }, new byte[4 * 784]);
        Write("train-labels-idx1-ubyte", new[] { 4 }, new byte[4]);
        Write("t10k-images-idx3-ubyte", new[] { 4, 28, 28 }, new byte[4 * 784]);
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), new byte[] { 0, 0, 8, 1, 0, 0, 0, 9, 1, 2 }); // says 9 labels, has 2
        var (code, o, err) = Run("train", "lenet5", "--device", "cpu", "--data", dir, "--epochs", "1");
        Assert.Equal(1, code);
        var lines = err.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.Contains(Path.Combine(dir, "t10k-labels-idx1-ubyte"), err);
        Assert.Contains("truncated", err);
        Assert.DoesNotContain("   at ", err);

        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 });
        var bad = Run("train", "lenet5", "--device", "cpu", "--data", dir);
        Assert.Equal(1, bad.Code);
        Assert.Contains("magic", bad.Err);

        var missing = Run("train", "lenet5", "--device", "cpu", "--data", Path.Combine(dir, "nowhere"));
        Assert.NotEqual(0, missing.Code);
        Assert.DoesNotContain("   at ", missing.Err);
    }

    [Fact]
    public void Train_writes_metrics_and_checkpoint_that_eval_reads()
    {
        string metrics = Path.Combine(dir, "m.json"), ckpt = Path.Combine(dir, "l.ckpt");
        var (code, o, err) = Run("train", "lenet5", "--device", "cpu", "--epochs", "1", "--train-limit", "256",
            "--batch-size", "32", "--lr", "0.01", "--seed", "5", "--metrics", metrics, "--save", ckpt);
        Assert.True(code == 0, err);
        Assert.Contains("epoch 1/1", o);
        using var doc = JsonDocument.Parse(File.ReadAllText(metrics));
        var root = doc.RootElement;
        foreach (var key in new[] { "model", "device", "epochs", "batch_size", "train_loss", "test_accuracy", "images_per_second", "seconds" })
            Assert.True(root.TryGetProperty(key, out _), $"metrics lack '{key}'");
        Assert.Equal("lenet5", root.GetProperty("model").GetString());
        Assert.Equal(32, root.GetProperty("batch_size").GetInt32());
        Assert.Equal(1, root.GetProperty("epochs").GetInt32());
        double acc = root.GetProperty("test_accuracy").GetDouble();
        Assert.InRange(acc, 0.0, 1.0);
        Assert.True(root.GetProperty("images_per_second").GetDouble() > 0);

        string evalMetrics = Path.Combine(dir, "e.json");
        var ev = Run("eval", "lenet5", "--device", "cpu", "--load", ckpt, "--metrics", evalMetrics);
        Assert.True(ev.Code == 0, ev.Err);
        using var evDoc = JsonDocument.Parse(File.ReadAllText(evalMetrics));
        // Evaluating the saved weights reproduces the accuracy the training run reported.
        Assert.Equal(acc, evDoc.RootElement.GetProperty("test_accuracy").GetDouble(), 6);
    }

    [Fact]
    public void Bench_reports_images_per_second()
    {
        string metrics = Path.Combine(dir, "b.json");
        var (code, o, err) = Run("bench", "lenet5", "--device", "cpu", "--batch-size", "8", "--steps", "3", "--warmup", "1", "--metrics", metrics);
        Assert.True(code == 0, err);
        Assert.Contains("img/s", o);
        // The CPU accelerator picks kernels by product size, without timing: LeNet-5's convolutions and first dense
        // layer at batch 8 are large enough for the blocked kernel, its last two dense layers are not.
        Assert.Matches(@"gemm on cpu:0: auto; chosen by size: (blocked x\d+, direct x\d+|direct x\d+, blocked x\d+|simd x\d+)", o);
        using var doc = JsonDocument.Parse(File.ReadAllText(metrics));
        Assert.True(doc.RootElement.GetProperty("images_per_second").GetDouble() > 0);
        Assert.Equal(3, doc.RootElement.GetProperty("steps").GetInt32());
        // The CPU accelerator cannot report device memory: the metric is null and the text says why.
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("device_memory_bytes").ValueKind);
        Assert.Contains("device memory held by the run: not reported by this back end", o);
    }

    [Fact]
    public void Synthetic_steps_record_the_loss_of_every_step()
    {
        string metrics = Path.Combine(dir, "s.json");
        var (code, o, err) = Run("train", "lenet5", "--device", "cpu", "--data", "synthetic", "--steps", "5", "--batch-size", "8",
            "--seed", "3", "--metrics", metrics);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(metrics));
        var losses = doc.RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(5, losses.Count);
        Assert.Equal(5, doc.RootElement.GetProperty("steps").GetInt32());
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0));
        Assert.Contains("synthetic 1x28x28", o);
    }

    /// <summary>The towers on two devices report the same per-step losses as one device, and the bytes that cross.</summary>
    [Fact]
    public void Two_tower_split_reports_the_same_losses_and_the_bytes_crossed()
    {
        string one = Path.Combine(dir, "one.json"), two = Path.Combine(dir, "two.json");
        string[] common = { "train", "alexnet-2tower", "--data", "synthetic", "--image-size", "64", "--steps", "3", "--batch-size", "4", "--seed", "11", "--synthetic-count", "16" }; // 16 train, 16 test images: the evaluation stays short
        var r1 = Run(common.Concat(new[] { "--device", "cpu", "--metrics", one }).ToArray());
        Assert.True(r1.Code == 0, r1.Err);
        Assert.Contains("epoch 1/1:", r1.Out); // --steps 3 ends in the first epoch, and the summary says so
        var r2 = Run(common.Concat(new[] { "--devices", "cpu,cpu", "--placement", "towers", "--metrics", two }).ToArray());
        Assert.True(r2.Code == 0, r2.Err);
        using var d1 = JsonDocument.Parse(File.ReadAllText(one));
        using var d2 = JsonDocument.Parse(File.ReadAllText(two));
        var l1 = d1.RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();
        var l2 = d2.RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(3, l1.Count);
        for (int i = 0; i < 3; i++) Assert.Equal(l1[i], l2[i], 5);
        Assert.Equal(0, d1.RootElement.GetProperty("bytes_transferred_per_step").GetInt64());
        Assert.True(d2.RootElement.GetProperty("bytes_transferred_per_step").GetInt64() > 0);
        Assert.Contains("bytes cross devices per step", r2.Out);
    }

    [Fact]
    public void Summary_prints_the_bytes_crossing_for_a_placement()
    {
        var (code, o, err) = Run("summary", "alexnet-2tower", "--devices", "cpu,cpu", "--placement", "towers", "--batch-size", "128");
        Assert.True(code == 0, err);
        Assert.Contains("total parameters: 60,965,224", o);
        Assert.Matches(@"pool2a\s+0\s+1\s+11,075,584\s+11,075,584", o);
        Assert.Matches(@"drop7b\s+1\s+0\s+1,048,576\s+1,048,576", o);
        Assert.Contains("bytes transferred per step: 60,030,976", o);
        Assert.Contains("input 'input' is uploaded from the host to devices 0, 1: 77,070,336 bytes each", o);
    }

    [Fact]
    public void Cifar10_needs_a_directory_and_reads_the_binary_batches()
    {
        var need = Run("train", "lenet5", "--data", "cifar10");
        Assert.Equal(2, need.Code);
        Assert.Contains("--data-dir", need.Err);

        var rng = new Random(5);
        Dataset Make(int n) => new("c", Enumerable.Range(0, n * 3072).Select(_ => (float)rng.Next(256) / 255f).ToArray(),
            Enumerable.Range(0, n).Select(i => i % 10).ToArray(), 3, 32, 32, 10);
        Cifar10.WriteBatch(Path.Combine(dir, "data_batch_1.bin"), Make(40));
        Cifar10.WriteBatch(Path.Combine(dir, "test_batch.bin"), Make(20));
        string metrics = Path.Combine(dir, "c.json");
        var (code, o, err) = Run("train", "lenet5", "--device", "cpu", "--data", "cifar10", "--data-dir", dir, "--augment",
            "--epochs", "1", "--batch-size", "8", "--metrics", metrics);
        Assert.True(code == 0, err);
        Assert.Contains("40 training and 20 test images", o);
        using var doc = JsonDocument.Parse(File.ReadAllText(metrics));
        Assert.Equal(20, doc.RootElement.GetProperty("test_images").GetInt32());
    }

    /// <summary>
    /// AlexNet's two towers, initialised as the paper, learn: on a fixed batch of four synthetic images the default
    /// (linearly scaled) learning rate drives the loss well below its start within eight steps.
    /// </summary>
    [Fact]
    public void AlexNet_two_tower_fits_a_fixed_batch()
    {
        string metrics = Path.Combine(dir, "fit.json");
        var (code, _, err) = Run("train", "alexnet-2tower", "--init", "paper", "--optimizer", "sgd", "--device", "cpu", "--data", "synthetic", "--synthetic-count", "4",
            "--image-size", "64", "--steps", "8", "--batch-size", "4", "--seed", "7", "--metrics", metrics);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(metrics));
        var losses = doc.RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(8, losses.Count);
        Assert.True(losses.Skip(5).Average() < 0.6 * losses[0], $"losses {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
    }

    [Fact]
    public void Gemm_and_tf32_options_are_checked_and_fall_back_with_reasons()
    {
        var (code, _, err) = Run("bench", "lenet5", "--device", "cpu", "--steps", "1", "--warmup", "0", "--gemm", "tile64");
        Assert.Equal(2, code);
        Assert.Contains("256 threads per group", err);
        (code, _, err) = Run("bench", "lenet5", "--device", "cpu", "--steps", "1", "--warmup", "0", "--gemm", "direct", "--tf32");
        Assert.Equal(2, code);
        Assert.Contains("--tf32 needs --gemm cublas", err);
        (code, _, err) = Run("bench", "lenet5", "--device", "cpu", "--steps", "1", "--warmup", "0", "--gemm", "fastest");
        Assert.Equal(2, code);
        Assert.Contains("valid choices: auto, direct, tile64, tile128, cublas, blocked", err);

        string metrics = Path.Combine(dir, "gemm.json");
        string o;
        (code, o, err) = Run("bench", "lenet5", "--device", "cpu", "--steps", "2", "--warmup", "0", "--gemm", "cublas", "--cuda-graph", "--metrics", metrics);
        Assert.True(code == 0, err);
        Assert.Contains("cuBLAS needs a CUDA device", o);
        Assert.Contains("cuda graph: not used (CUDA graphs need a CUDA device", o);
        using var doc = JsonDocument.Parse(File.ReadAllText(metrics));
        Assert.Contains("CUDA device", doc.RootElement.GetProperty("cuda_graph_problem").GetString());
        Assert.True(doc.RootElement.GetProperty("fused_activations").GetBoolean());
    }
}

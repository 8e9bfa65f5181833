using GpuCnn.Tests.Data;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Resilience;

/// <summary>
/// Every command with each bad input: one line on stderr, exit code 1 or 2, no stack trace, and no forged size
/// turned into a large allocation.
/// </summary>
public sealed class BadInputTests : IClassFixture<BadInputTests.Files>
{
    /// <summary>A directory, an empty file and a sparse 3 GB file (plus /dev/zero), shared by the cases.</summary>
    public sealed class Files : IDisposable
    {
        readonly TempDir dir = new();
        public Files()
        {
            Directory.CreateDirectory(Path.Combine(dir.Path, "folder"));
            File.WriteAllBytes(Empty, []);
            using var fs = new FileStream(Sparse, FileMode.Create);
            fs.SetLength(3L << 30); // sparse: takes no disk space
        }
        public string Folder => Path.Combine(dir.Path, "folder");
        public string Empty => Path.Combine(dir.Path, "empty.ck");
        public string Sparse => Path.Combine(dir.Path, "sparse.ck");
        public string Out(string name) => Path.Combine(dir.Path, name);
        public void Dispose() => dir.Dispose();
    }

    readonly Files files;
    public BadInputTests(Files files) => this.files = files;

    const string Lenet = "lenet5";
    static readonly string[] Cpu = ["--device", "cpu"];
    static readonly string[] Small = ["--data", "synthetic", "--synthetic-count", "64", "--steps", "1"];

    /// <summary>Each command that reads a file, with the file option; FILE stands for the bad input.</summary>
    static readonly string[][] Readers =
    [
        ["train", Lenet, .. Cpu, .. Small, "--resume", "FILE"],
        ["train", Lenet, .. Cpu, .. Small, "--init-from", "FILE"],
        ["train", .. Cpu, .. Small, "--onnx", "FILE"],
        ["eval", Lenet, .. Cpu, "--load", "FILE"],
        ["eval", .. Cpu, "--onnx", "FILE"],
        ["predict", Lenet, "IMAGE", .. Cpu, "--load", "FILE"],
        ["predict", "IMAGE", .. Cpu, "--onnx", "FILE"],
        ["export", Lenet, "--load", "FILE", "-o", "OUT/x.onnx"],
        ["import", "FILE"],
        ["summary", "--onnx", "FILE"],
    ];

    public static TheoryData<int, string> ReaderCases()
    {
        var data = new TheoryData<int, string>();
        for (int i = 0; i < Readers.Length; i++)
            foreach (var bad in new[] { "folder", "/dev/zero", "sparse", "empty" }) data.Add(i, bad);
        return data;
    }

    /// <summary>The other bad inputs of the issue, command by command.</summary>
    public static TheoryData<string> OptionCases() => new()
    {
        $"train {Lenet} --device cpu --batch-size 100000",
        $"train {Lenet} --device cpu --train-limit 10",
        $"train {Lenet} --device cpu --lr Infinity --steps 1",
        $"train {Lenet} --device cpu --lr 1e39 --steps 1",
        $"train {Lenet} --device cpu:5 --steps 1",
        $"train {Lenet} --device cpu --steps 1 --save FOLDER",
        $"train {Lenet} --device cpu --steps 1 --save /sys/x.ck",
        $"train {Lenet} --device cpu --steps 1 --metrics FOLDER",
        $"train {Lenet} --device cpu --steps 1 --plot FOLDER",
        $"train {Lenet} --device cpu --steps 1 --tensorboard OUT/empty.ck",
        $"train {Lenet} --device cpu --steps 1 --on-nonfinite maybe",
        $"train {Lenet} --device cpu --steps 1 --save-every 5",
        $"bench {Lenet} --device cpu:5",
        $"bench {Lenet} --device cpu --metrics FOLDER",
        $"eval {Lenet} --device cpu:5",
        $"eval {Lenet} --device cpu --metrics FOLDER",
        $"predict {Lenet} IMAGE --device cpu:3",
        $"export {Lenet} -o FOLDER",
        $"import FILE --save FOLDER",
    };

    string Fill(string arg, string bad) => arg switch
    {
        "FILE" => bad switch { "folder" => files.Folder, "sparse" => files.Sparse, "empty" => files.Empty, _ => bad },
        "FOLDER" => files.Folder,
        "IMAGE" => files.Out("digit.png"),
        _ when arg.StartsWith("OUT/") => files.Out(arg[4..]),
        _ => arg,
    };

    [Theory, MemberData(nameof(ReaderCases))]
    public void AReaderGivenABadFileSaysSoInOneLine(int command, string bad) =>
        Check(Readers[command].Select(a => Fill(a, bad)).ToArray());

    [Theory, MemberData(nameof(OptionCases))]
    public void ABadOptionSaysSoInOneLine(string line) =>
        Check(line.Split(' ').Select(a => Fill(a, "empty")).ToArray());

    void Check(string[] args)
    {
        if (!File.Exists(files.Out("digit.png"))) WritePng(files.Out("digit.png"));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var (code, output, err) = CliRunner.Run(args);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        string what = $"gpucnn {string.Join(' ', args)}: exit {code}, stderr: {err}";
        Assert.True(code is 1 or 2, what);
        var lines = err.Trim().Split('\n');
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: "), what);
        Assert.DoesNotContain("   at ", err + output);
        Assert.True(allocated < 500L << 20, $"{what}; allocated {allocated >> 20} MiB");
    }

    static void WritePng(string path)
    {
        using var bmp = new SkiaSharp.SKBitmap(28, 28);
        using var image = SkiaSharp.SKImage.FromBitmap(bmp);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 90);
        File.WriteAllBytes(path, data.ToArray());
    }
}

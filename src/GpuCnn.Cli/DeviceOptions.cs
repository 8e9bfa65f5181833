using System.CommandLine;
using GpuCnn.Devices;
using GpuCnn.Graphs;

namespace GpuCnn.Cli;

/// <summary>--device, --devices, --placement, --gemm and --tf32, shared by train and bench.</summary>
sealed class DeviceOptions
{
    public readonly Option<string?> Device = Opt.Text("device", "auto (default: CUDA, then OpenCL, then CPU), cuda[:N], opencl[:N], cpu[:N]", "D");
    public readonly Option<string?> Devices = Opt.Text("devices", "several devices, comma-separated, for model parallelism", "D,D,...");
    public readonly Option<string?> Placement = Opt.Text("placement", "single, towers, or NODE=DEVICE[,...] (with --devices)", "P");
    public readonly Option<string?> Gemm = Opt.Text("gemm",
        "kernels of convolutions and dense layers: auto (default; timed per shape on GPUs, chosen by size on the CPU), direct, tile64, tile128, blocked, simd (CPU accelerator only), or cublas (CUDA only)", "G");
    public readonly Option<bool> Tf32 = Opt.Flag("tf32", "let cuBLAS use TF32 tensor cores (implies --gemm cublas)");

    public void AddTo(Command c)
    {
        c.Add(Device);
        c.Add(Devices);
        c.Add(Placement);
        c.Add(Gemm);
        c.Add(Tf32);
    }

    /// <summary>The --device option of a one-device command (eval, predict): cpu:N with N ≥ 1 is refused as not listed.</summary>
    public static Option<string?> Single()
    {
        var o = Opt.Text("device", "auto (default), cuda[:N], opencl[:N], cpu", "D");
        o.Validators.Add(r =>
        {
            string? spec = r.Tokens.Count > 0 ? r.Tokens[^1].Value.Trim().ToLowerInvariant() : null;
            if (spec is not null && spec.StartsWith("cpu:", StringComparison.Ordinal) && spec != "cpu:0")
                r.AddError($"device '{spec}' is not listed by 'gpucnn devices' (cpu:0)");
        });
        return o;
    }

    /// <summary>Opens the devices and applies the placement to the graph; validates every spec before opening any.</summary>
    public List<ComputeDevice> Open(ParseResult p, Graph graph, string? defaultDevice = null)
    {
        string? one = p.GetValue(Device), many = p.GetValue(Devices), placement = p.GetValue(Placement);
        if (one is not null && many is not null) throw new UsageException("give either --device or --devices, not both");
        var specs = many is null ? new[] { one ?? defaultDevice ?? "auto" } : many.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (specs.Length == 0) throw new UsageException("--devices needs at least one device");
        foreach (var spec in specs)
        {
            var info = DeviceManager.Resolve(spec);
            // cpu:N (N ≥ 1) is another CPU accelerator standing in for a further GPU: only within a list that long.
            if (info.Kind == DeviceKind.Cpu && info.Index >= specs.Length)
                throw new UsageException($"device '{spec}' is not listed by 'gpucnn devices' (cpu:0); cpu:N stands for a further device only in a --devices list of more than N");
        }
        GpuCnn.Graphs.Placement.Apply(graph, placement ?? "single", specs.Length);
        string? gemmName = p.GetValue(Gemm);
        bool tf32 = p.GetValue(Tf32);
        GemmFamily gemm;
        try { gemm = GemmEngine.Parse(gemmName); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (tf32 && gemmName is null) gemm = GemmFamily.CuBlas; // TF32 exists only on cuBLAS's tensor-core path
        if (tf32 && gemm != GemmFamily.CuBlas)
            throw new UsageException("--tf32 needs --gemm cublas: the ILGPU kernels compute in fp32");
        var devices = new List<ComputeDevice>();
        foreach (var spec in specs)
        {
            var d = DeviceManager.Open(spec);
            try { if (gemmName is not null || tf32) d.Gemm.Preference = gemm; }
            catch (ArgumentException)
            {
                d.Dispose();
                foreach (var open in devices) open.Dispose();
                throw;
            }
            d.Gemm.Tf32 = tf32;
            devices.Add(d);
        }
        return devices;
    }

    /// <summary>One line on the GEMM families a device uses, including why cuBLAS was not used when it was asked for.</summary>
    public static string GemmLine(ComputeDevice d)
    {
        var g = d.Gemm;
        string mode = g.Preference == GemmFamily.CuBlas && g.CuBlasReady()
            ? $"cublas {g.CuBlasVersion}{(g.Tf32 ? " (tf32)" : " (fp32)")}{(CuBlasLibrary.LoadedName is { } n ? $" from {n}" : "")}"
            : g.Preference.ToString().ToLowerInvariant();
        string problem = g.Preference == GemmFamily.CuBlas && g.CuBlasProblem is { } pr ? $"; {pr}" : "";
        var counts = g.Choices.Values.GroupBy(v => v).Select(x => $"{x.Key.ToString().ToLowerInvariant()} x{x.Count()}");
        // GPUs time the candidates; the CPU accelerator chooses by the size of each product without timing.
        string how = d.Kind == DeviceKind.Cpu && !g.TuneOnCpu ? "chosen by size" : "tuned";
        string chosen = g.Choices.Count > 0 ? $"; {how}: {string.Join(", ", counts)}" : "";
        return $"gemm on {d.Id}: {mode}{problem}{chosen}";
    }
}

/// <summary>--data, --data-dir, --image-size, --classes, --synthetic-count, --augment and the image-folder options.</summary>
sealed class DataOptions
{
    public readonly Option<string?> Data = Opt.Text("data",
        "mnist (default: the 10,000 bundled digits, or the official IDX files in --data-dir), cifar10 (the binary batches in --data-dir), " +
        "synthetic (seeded images of --image-size, --classes classes), a folder of MNIST IDX files, or a folder of class subfolders of PNG/JPEG images", "mnist|cifar10|synthetic|DIR");
    public readonly Option<string?> DataDir = Opt.Text("data-dir", "the folder of the MNIST IDX files or CIFAR-10 batches", "DIR");
    public readonly Option<int?> ImageSize = Opt.Int("image-size", "side of the square input images", 1);
    public readonly Option<int?> Classes = Opt.Int("classes", "number of classes", 2, "K");
    public readonly Option<int?> SyntheticCount = Opt.Int("synthetic-count", "training images of --data synthetic", 1);
    public readonly Option<bool> Augment = Opt.Flag("augment", "random crops (and flips for colour images) on the training set");
    public readonly Option<float?> ValFraction = Opt.Float("val-fraction", "share of each class held out of an image folder without train/ and val/ (default 0.2)", 0);
    public readonly Option<bool> StrictData = Opt.Flag("strict-data", "end the run at an unreadable image instead of skipping it");

    public void AddTo(Command c)
    {
        c.Add(Data);
        c.Add(DataDir);
        c.Add(ImageSize);
        c.Add(Classes);
        c.Add(SyntheticCount);
        c.Add(Augment);
        c.Add(ValFraction);
        c.Add(StrictData);
    }

    public string Name(ParseResult p) => p.GetValue(Data) ?? "mnist";

    /// <summary>The request, with image folders read by <see cref="ImageFolderPreset"/> (normalised as <paramref name="from"/> says, for eval).</summary>
    public GpuCnn.Data.DataRequest Request(ParseResult p, string model, int seed, TextWriter warn, GpuCnn.Serialization.CheckpointHeader? from = null)
    {
        // eval holds out what training held out: the checkpoint's fraction unless the command line overrides it.
        float fraction = p.GetValue(ValFraction) ?? (from is not null && from.Extra.TryGetValue(CheckpointFacts.ValFraction, out var f)
            ? float.Parse(f, System.Globalization.CultureInfo.InvariantCulture) : 0.2f);
        if (fraction >= 1) throw new UsageException($"--val-fraction must be below 1, got {fraction}");
        return new(Name(p), model, seed)
        {
            Directory = p.GetValue(DataDir), ImageSize = p.GetValue(ImageSize), Classes = p.GetValue(Classes),
            SyntheticCount = p.GetValue(SyntheticCount), Augment = p.GetValue(Augment),
            FolderLoader = ImageFolderPreset.Loader(fraction, p.GetValue(StrictData), warn, from),
        };
    }
}

// Same-run comparison of GpuCnn's CPU path with TorchSharp CPU (libtorch), interleaved:
//   dotnet run -c Release --project perf/GpuCnn.TorchCompare -- [--rounds 3] [--only sgemm512,lenet64,...] [--quick]
//                                                                 [--metrics FILE.json]
// For each piece of work both sides are set up once, then timed in alternating order for every round; the table gives
// each side's median and GpuCnn's speed as a fraction of libtorch's. Every side checks its own result first (SGEMM
// entries against a double reference, equal parameter counts, finite losses).
using System.Text.Json;
using GpuCnn.TorchCompare;

string Arg(string name, string def)
{
    int i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : def;
}
int rounds = int.Parse(Arg("rounds", "3"));
bool quick = args.Contains("--quick");
var only = Arg("only", "") is { Length: > 0 } o ? o.Split(',').ToHashSet() : null;
string? metrics = Arg("metrics", "") is { Length: > 0 } m ? m : null;

string shim = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
if (File.Exists(shim)) Console.WriteLine(ElfPatch.MakeVersionWeak(shim, "GLIBCXX_3.4.32"));
TorchSharp.torch.set_num_threads(Environment.ProcessorCount);
using var device = GpuCnn.Devices.DeviceManager.Open("cpu");
Console.WriteLine($"GpuCnn: {device}; TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version} (libtorch {TorchSharp.torch.__version__}), " +
                  $"{TorchSharp.torch.get_num_threads()} threads; {Environment.ProcessorCount} logical CPUs; {rounds} rounds");

var works = Works.All(device, quick).Where(w => only is null || only.Contains(w.Key)).ToList();
var rows = new List<Dictionary<string, object?>>();
Console.WriteLine();
Console.WriteLine("| work | GpuCnn, CPU accelerator | TorchSharp CPU | GpuCnn's speed / libtorch's |");
Console.WriteLine("|---|---|---|---|");
foreach (var w in works)
{
    var g = new List<double>();
    var t = new List<double>();
    using (var gs = w.GpuCnn())
    using (var ts = w.Torch())
    {
        if (gs.Parameters != ts.Parameters)
            throw new InvalidOperationException($"{w.Title}: GpuCnn has {gs.Parameters:N0} parameters, TorchSharp {ts.Parameters:N0}");
        gs.Check();
        ts.Check();
        gs.Measure(); // warm-up round, untimed
        ts.Measure();
        for (int r = 0; r < rounds; r++)
        {
            // Alternate which side goes first so that neither always runs on a warmer (or busier) machine.
            if (r % 2 == 0) { g.Add(gs.Measure()); t.Add(ts.Measure()); }
            else { t.Add(ts.Measure()); g.Add(gs.Measure()); }
        }
    }
    double gm = Median(g), tm = Median(t);
    // Speeds: a side's rate is units per second, so the ratio is the GpuCnn rate over libtorch's.
    double ratio = gm / tm;
    Console.WriteLine($"| {w.Title} | {w.Format(gm)} | {w.Format(tm)} | {ratio:F3} |");
    rows.Add(new() { ["work"] = w.Key, ["title"] = w.Title, ["unit"] = w.Unit, ["gpucnn"] = g, ["torch"] = t,
        ["gpucnn_median"] = gm, ["torch_median"] = tm, ["ratio"] = ratio });
}
if (metrics is not null)
    File.WriteAllText(metrics, JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["date"] = DateTime.UtcNow.ToString("u"), ["device"] = device.ToString(), ["rounds"] = rounds,
        ["torch_threads"] = TorchSharp.torch.get_num_threads(), ["rows"] = rows,
    }, new JsonSerializerOptions { WriteIndented = true }));
return 0;

static double Median(List<double> v)
{
    var s = v.OrderBy(x => x).ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

using System.Diagnostics;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The GPU session runs the suite through <c>GpuCnn.Perf check</c> (the GPU machine has no .NET SDK), so CI runs that
/// runner too, on the CPU cases, where a broken runner would otherwise first show on a scarce GPU machine.
/// </summary>
public class PerfHarnessTests
{
    /// <summary>GpuCnn.Perf.dll of the same configuration, built by `dotnet test` at the repository root.</summary>
    static string? PerfDll()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory); // tests/GpuCnn.Tests/bin/<Configuration>/<tfm>/
        string tfm = baseDir.Name, configuration = baseDir.Parent!.Name;
        for (var d = baseDir; d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "perf", "GpuCnn.Perf", "bin", configuration, tfm, "GpuCnn.Perf.dll");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    [SkippableFact]
    public void Check_runner_runs_and_reports_the_selected_cases()
    {
        string? dll = PerfDll();
        Skip.If(dll is null, "GpuCnn.Perf is not built; `dotnet test` at the repository root builds the whole solution");
        var psi = new ProcessStartInfo("dotnet", [dll!, "check", "--backends", "cpu", "--filter", "Vec4_tiled"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "the check runner did not finish in 5 minutes");
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}\n{stdout}\n{stderr.Result}");
        Assert.Contains("check: 2 cases for back ends cpu matching 'Vec4_tiled'", stdout);
        Assert.Contains("PASS ExperimentalKernelTests.Vec4_tiled_gemm_matches_double_reference(\"cpu\", \"Tile64V4\")", stdout);
        Assert.Contains("2 passed, 0 failed, 0 skipped", stdout);
    }

    /// <summary>Slow cases run last, so the time limit of a GPU-session step cuts them rather than the quick ones.</summary>
    [SkippableFact]
    public void Check_runner_lists_slow_cases_last()
    {
        string? dll = PerfDll();
        Skip.If(dll is null, "GpuCnn.Perf is not built; `dotnet test` at the repository root builds the whole solution");
        var psi = new ProcessStartInfo("dotnet", [dll!, "check", "--backends", "cuda,opencl", "--list"]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1).ToList();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)));
        int firstSlow = lines.FindIndex(l => l.StartsWith(nameof(AlexNetEveryBackendTests), StringComparison.Ordinal));
        Assert.True(firstSlow > 0, string.Join("\n", lines));
        Assert.All(lines.Skip(firstSlow), l => Assert.StartsWith(nameof(AlexNetEveryBackendTests), l));
        Assert.Equal(4, lines.Count - firstSlow);
    }
}

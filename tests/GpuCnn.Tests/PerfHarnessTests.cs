using System.Diagnostics;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The GPU session runs the suite through <c>GpuCnn.Perf check</c> (the GPU machine has no .NET SDK), so CI runs that
/// runner too, on the CPU cases, where a broken runner would otherwise first show on a scarce GPU machine.
/// </summary>
public class PerfHarnessTests
{
    /// <summary>GpuCnn.Perf.dll of the same configuration, built with this project (a build-only project reference).</summary>
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

    /// <summary>Runs GpuCnn.Perf with <paramref name="args"/>; kills it and fails after <paramref name="limit"/>.</summary>
    static async Task<(int Code, string Stdout, string Stderr)> RunPerf(TimeSpan limit, params string[] args)
    {
        string? dll = PerfDll();
        Assert.True(dll is not null, "GpuCnn.Perf.dll not found: the test project builds it through a project reference");
        var psi = new ProcessStartInfo("dotnet", [dll!, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(limit);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"GpuCnn.Perf {string.Join(' ', args)} did not finish in {limit.TotalMinutes} minutes");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Check_runner_runs_and_reports_the_selected_cases()
    {
        var (code, stdout, stderr) = await RunPerf(TimeSpan.FromMinutes(5), "check", "--backends", "cpu", "--filter", "Vec4_tiled");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("check: 2 cases for back ends cpu matching 'Vec4_tiled'", stdout);
        Assert.Contains("PASS ExperimentalKernelTests.Vec4_tiled_gemm_matches_double_reference(\"cpu\", \"Tile64V4\")", stdout);
        Assert.Contains("2 passed, 0 failed, 0 skipped", stdout);
    }

    /// <summary>Slow cases run last, so the time limit of a GPU-session step cuts them rather than the quick ones.</summary>
    [Fact]
    public async Task Check_runner_lists_slow_cases_last()
    {
        var (code, stdout, stderr) = await RunPerf(TimeSpan.FromMinutes(1), "check", "--backends", "cuda,opencl", "--list");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1).ToList();
        int firstSlow = lines.FindIndex(l => l.StartsWith(nameof(AlexNetEveryBackendTests), StringComparison.Ordinal));
        Assert.True(firstSlow > 0, string.Join("\n", lines));
        Assert.All(lines.Skip(firstSlow), l => Assert.StartsWith(nameof(AlexNetEveryBackendTests), l));
        Assert.Equal(4, lines.Count - firstSlow);
    }
}

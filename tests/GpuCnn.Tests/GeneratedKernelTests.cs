using System.Diagnostics;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// Each generated kernel file is exactly what its generator writes today, so an edit to a generated file (or a
/// generator change that was not regenerated) fails CI. The generators need python3; its absence is a failure.
/// </summary>
public class GeneratedKernelTests
{
    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GpuCnn.sln"))) return d.FullName;
        throw new InvalidOperationException($"no GpuCnn.sln above {AppContext.BaseDirectory}");
    }

    public static TheoryData<string, string, string> Generated => new()
    {
        { "kernels/GpuCnn.Kernels/Gemm/gen_tiled.py", "", "kernels/GpuCnn.Kernels/Gemm/TiledGemmKernels.cs" },
        { "kernels/GpuCnn.Kernels/Gemm/gen_tiled.py", "--vec4", "perf/GpuCnn.Experimental/Gemm01Vec4.cs" },
        { "kernels/GpuCnn.Kernels/Gemm/gen_blocked.py", "", "kernels/GpuCnn.Kernels/Gemm/BlockedGemmKernels.cs" },
    };

    [Theory, MemberData(nameof(Generated))]
    public async Task Generated_file_matches_its_generator(string script, string args, string output)
    {
        string root = RepoRoot();
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(root, script));
        if (args.Length > 0) psi.ArgumentList.Add(args);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("python3 could not be started");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException) { p.Kill(); Assert.Fail($"{script} did not finish in 60 s"); }
        Assert.True(p.ExitCode == 0, $"{script} {args} exited {p.ExitCode}: {await stderr}");
        string expected = (await stdout).ReplaceLineEndings("\n");
        string actual = File.ReadAllText(Path.Combine(root, output)).ReplaceLineEndings("\n");
        Assert.True(expected == actual,
            $"{output} differs from what `python3 {script} {args}` writes; regenerate it (the file says how) instead of editing it");
    }
}

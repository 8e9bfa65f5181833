using System.Diagnostics;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The programs in samples/, built with this project (build-only project references), run at small sizes on the CPU;
/// each checks its own result and exits 1 when it is not met. SaveLoadPredict is README's embedding example.
/// </summary>
public class SamplesTests
{
    static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GpuCnn.sln"))) return d.FullName;
        throw new InvalidOperationException("no GpuCnn.sln above the test assembly");
    }

    /// <summary>samples/NAME's dll of the test assembly's configuration and framework.</summary>
    static string SampleDll(string name)
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory); // tests/GpuCnn.Tests/bin/<Configuration>/<tfm>/
        string dll = Path.Combine(Root(), "samples", name, "bin", baseDir.Parent!.Name, baseDir.Name, $"{name}.dll");
        Assert.True(File.Exists(dll), $"{dll} not found: the test project builds the samples through project references");
        return dll;
    }

    static async Task<string> Run(string name, string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet", [SampleDll(name), .. args]) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"sample {name} did not finish in 3 minutes");
        }
        string output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"sample {name} exited {p.ExitCode}:\n{output}");
        return output;
    }

    [Fact]
    public async Task LeNet5_learns_the_bundled_digits()
    {
        string output = await Run("LeNetMnist", Path.GetTempPath(), "--device", "cpu", "--steps", "60", "--min-accuracy", "0.6");
        Assert.Contains("test accuracy", output);
    }

    [Fact]
    public async Task A_custom_residual_network_learns_synthetic_images()
    {
        string output = await Run("CustomResidual", Path.GetTempPath(), "--device", "cpu", "--steps", "48", "--min-accuracy", "0.5");
        Assert.Contains("stem.weight, stem.bias, stages.0.conv1.weight", output);
    }

    [Fact]
    public async Task The_readme_example_saves_loads_and_predicts()
    {
        using var tmp = new Data.TempDir();
        string output = await Run("SaveLoadPredict", tmp.Path);
        Assert.Equal(7, System.Text.RegularExpressions.Regex.Matches(output, @"^class \d \(\d+(\.\d)?\s?%\)$", System.Text.RegularExpressions.RegexOptions.Multiline).Count);
        Assert.True(File.Exists(tmp.File("net.safetensors")));
    }
}

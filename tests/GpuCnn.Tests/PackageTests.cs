using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using GpuCnn.Tests.Data;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The NuGet packages install into a fresh console app that runs README's module example.</summary>
public class PackageTests
{
    static string? RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GpuCnn.sln"))) return d.FullName;
        return null;
    }

    static (int Code, string Output) Dotnet(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o + err.Result);
    }

    /// <summary>In the default suite: about 40 s on the 2-core machine (pack twice, an offline restore, a build and a run).</summary>
    [Fact]
    public void Packed_packages_install_into_a_console_app_that_runs_the_readme_example()
    {
        string root = RepoRoot() ?? throw new InvalidOperationException("no GpuCnn.sln above the test assembly");
#if DEBUG
        const string config = "Debug";
#else
        const string config = "Release";
#endif
        using var tmp = new TempDir();
        string feed = Directory.CreateDirectory(tmp.File("feed")).FullName, app = Directory.CreateDirectory(tmp.File("app")).FullName;
        foreach (var project in new[] { "kernels/GpuCnn.Kernels", "src/GpuCnn" })
        {
            var (code, output) = Dotnet(root, "pack", project, "-c", config, "--no-build", "-o", feed);
            Assert.True(code == 0, output);
        }
        foreach (var id in new[] { "GpuCnn", "GpuCnn.Kernels" })
        {
            Assert.True(File.Exists(Path.Combine(feed, $"{id}.0.1.0.snupkg")), $"{id} has no symbols package");
            using var zip = ZipFile.OpenRead(Path.Combine(feed, $"{id}.0.1.0.nupkg"));
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.Contains("README.md", names);
            Assert.Contains($"lib/net10.0/{id}.xml", names);
            using var nuspec = new StreamReader(zip.GetEntry($"{id}.nuspec")!.Open());
            Assert.Contains("<license type=\"expression\">MIT</license>", nuspec.ReadToEnd());
        }

        // README's module example, verbatim, as the app's Program.cs.
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        int section = readme.IndexOf("### Modules, tensors", StringComparison.Ordinal);
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        File.WriteAllText(Path.Combine(app, "Program.cs"), readme[start..readme.IndexOf("```\n", start, StringComparison.Ordinal)]);
        string cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        // The fresh packages come from the feed; their dependencies (ILGPU) from the machine's package cache, offline.
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="feed" value="{feed}" />
                <add key="cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "app.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="GpuCnn" Version="0.1.0" />
              </ItemGroup>
            </Project>
            """);
        var run = Dotnet(app, "run", "-c", "Release", "--packages", tmp.File("packages"));
        Assert.True(run.Code == 0, run.Output);
        Assert.Equal(7, Regex.Matches(run.Output, @"^class \d \(\d+(\.\d)?\s?%\)$", RegexOptions.Multiline).Count);
        Assert.True(File.Exists(Path.Combine(app, "net.safetensors")));
    }
}

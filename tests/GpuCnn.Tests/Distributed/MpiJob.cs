using System.Diagnostics;
using System.Text;
using Xunit;

namespace GpuCnn.Tests.Distributed;

/// <summary>
/// Runs the CLI as an MPI job in child processes, never inside the test host, under a hard timeout that kills the
/// whole process tree. Without the launcher the tests skip with the reason, except under CI (<c>CI=true</c>), where
/// .ci/run installs Open MPI and a missing <c>mpirun</c> is a failure.
/// </summary>
public static class MpiJob
{
    /// <summary>The CLI assembly copied next to the tests (the test project references GpuCnn.Cli).</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "GpuCnn.Cli.dll");

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Open MPI's <c>mpirun</c>; skips without it, or fails under CI.</summary>
    public static string RequireOpenMpi()
    {
        string? mpirun = Which("mpirun.openmpi") ?? Which("mpirun");
        if (mpirun is null && Environment.GetEnvironmentVariable("CI") == "true")
            Assert.Fail("mpirun not found, but CI=true: .ci/run installs openmpi-bin, so the MPI tests must run");
        Skip.If(mpirun is null, "mpirun not found: install openmpi-bin (apt-get install --no-install-recommends openmpi-bin)");
        return mpirun!;
    }

    /// <summary>
    /// The launcher arguments for <paramref name="ranks"/> local ranks of the CLI on loopback and shared memory. Open
    /// MPI refuses root without its two variables, and more ranks than cores without --oversubscribe.
    /// </summary>
    public static string[] OpenMpiArgs(int ranks) =>
        ["-np", ranks.ToString(), "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader", "--mca", "oob_tcp_if_include", "lo"];

    /// <summary>What a finished (or killed) job left.</summary>
    public sealed record Result(int Code, string Out, string Err, double Seconds, bool TimedOut)
    {
        /// <summary>Everything it printed, for assertion messages.</summary>
        public override string ToString() => $"exit {Code} after {Seconds:F1} s{(TimedOut ? " (timed out)" : "")}\n{Out}\n{Err}";
    }

    /// <summary>Starts <paramref name="file"/> with <paramref name="args"/> in <paramref name="workDir"/> (not awaited).</summary>
    public static Process Start(string file, IEnumerable<string> args, string workDir, StringBuilder stdout, StringBuilder stderr)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Waits for <paramref name="p"/> up to <paramref name="timeoutSeconds"/>, then kills its tree.</summary>
    public static Result Wait(Process p, StringBuilder stdout, StringBuilder stderr, double timeoutSeconds, Stopwatch clock)
    {
        bool done = p.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds));
        if (!done)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(10_000);
        }
        p.WaitForExit(); // drains the output readers
        lock (stdout) lock (stderr)
            return new Result(done ? p.ExitCode : -1, stdout.ToString(), stderr.ToString(), clock.Elapsed.TotalSeconds, !done);
    }

    /// <summary>Runs a launcher (or <c>dotnet</c> itself) to the end, or kills it after <paramref name="timeoutSeconds"/>.</summary>
    public static Result Run(string file, IEnumerable<string> args, string workDir, double timeoutSeconds = 120)
    {
        var (o, e) = (new StringBuilder(), new StringBuilder());
        var clock = Stopwatch.StartNew();
        using var p = Start(file, args, workDir, o, e);
        return Wait(p, o, e, timeoutSeconds, clock);
    }

    /// <summary><c>mpirun -np N dotnet GpuCnn.Cli.dll ARGS</c>.</summary>
    public static Result OpenMpi(int ranks, string workDir, params string[] cli) =>
        Run(RequireOpenMpi(), [.. OpenMpiArgs(ranks), "dotnet", CliDll, .. cli], workDir);

    /// <summary><c>dotnet GpuCnn.Cli.dll ARGS</c> in a child process (one rank, no launcher).</summary>
    public static Result Single(string workDir, params string[] cli) => Run("dotnet", [CliDll, .. cli], workDir);

    /// <summary>A fresh temporary folder.</summary>
    public static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "gpucnn-mpi-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>The "losses" array of a metrics file.</summary>
    public static double[] Losses(string metricsFile)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(metricsFile));
        return doc.RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray();
    }
}

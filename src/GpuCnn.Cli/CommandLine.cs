using System.CommandLine;
using System.CommandLine.Help;
using System.Reflection;
using System.Text.Json;
using GpuCnn.Cli.Commands;
using GpuCnn.Data;
using GpuCnn.Tensors;

namespace GpuCnn.Cli;

/// <summary>The <c>gpucnn</c> command: train, eval, predict, bench, summary, devices, export, import, on System.CommandLine.</summary>
public static class CommandLine
{
    static readonly string[] CommandNames = ["train", "eval", "bench", "summary", "devices", "predict", "export", "import", "allreduce", "lr-find"];

    /// <summary>Builds the command tree; each command's action writes to <paramref name="stdout"/>.</summary>
    public static Command Build(TextWriter stdout)
    {
        // A plain command named gpucnn rather than a RootCommand, whose name would be the host process's
        // (testhost under a test runner); --version is answered in Run.
        var root = new Command("gpucnn", "gpucnn: train, evaluate and benchmark convolutional networks on CUDA, OpenCL or the CPU (ILGPU).")
        {
            new HelpOption(),
            new Option<bool>("--version") { Description = "Show version information", Arity = ArgumentArity.Zero },
        };
        root.Add(TrainCommand.Create(stdout));
        root.Add(EvalCommand.Create(stdout));
        root.Add(PredictCommand.Create(stdout));
        root.Add(BenchCommand.Create(stdout));
        root.Add(SummaryCommand.Create(stdout));
        root.Add(DevicesCommand.Create(stdout));
        root.Add(ExportCommand.Create(stdout));
        root.Add(ImportCommand.Create(stdout));
        root.Add(AllreduceCommand.Create(stdout));
        root.Add(LrFindCommand.Create(stdout));
        return root;
    }

    /// <summary>Runs a command; returns the process exit code. Errors print one line, never a stack trace.</summary>
    /// <remarks>Exit codes: 0 success, 1 bad data or a failed run, 2 bad usage (and no command at all), 3 a non-finite
    /// loss, gradient or update (train --on-nonfinite stop).</remarks>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(stdout);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke(config);
            return 2;
        }
        if (args[0] == "help") args = args.Length > 1 ? [args[1], "--help"] : ["--help"];
        try
        {
            if (!args[0].StartsWith('-') && !CommandNames.Contains(args[0]))
                throw new UsageException($"unknown command '{args[0]}'{Suggest(args[0], CommandNames)}; valid commands: {string.Join(", ", CommandNames)}");
            if (args is ["--version"]) { stdout.WriteLine(Version); return 0; }
            var parsed = root.Parse(args);
            if (parsed.Action is HelpAction) { parsed.Invoke(config); return 0; }
            Usage.ThrowOnErrors(parsed);
            return parsed.Invoke(config);
        }
        catch (UsageException e) { return Fail(stderr, e.Message, 2); }
        catch (GpuCnn.Training.NonFiniteException e) { return Fail(stderr, e.Message, NonFiniteExitCode); }
        catch (DataFormatException e) { return Fail(stderr, e.Message, 1); }
        catch (GpuCnn.Serialization.Onnx.OnnxFormatException e) { return Fail(stderr, e.Message, 1); }
        catch (FileNotFoundException e) { return Fail(stderr, e.Message, 1); }
        catch (DirectoryNotFoundException e) { return Fail(stderr, e.Message, 1); }
        catch (ShapeMismatchException e) { return Fail(stderr, e.Message, 1); }
        catch (ArgumentException e) { return Fail(stderr, e.Message, 2); }
        catch (IOException e) { return Fail(stderr, e.Message, 1); }
        catch (InvalidOperationException e) { return Fail(stderr, e.Message, 1); }
        catch (UnauthorizedAccessException e) { return Fail(stderr, e.Message, 1); }
    }

    /// <summary>The exit code of a training run stopped by a non-finite step.</summary>
    public const int NonFiniteExitCode = 3;

    /// <summary>The version printed by <c>--version</c>: the CLI assembly's informational version.</summary>
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    static int Fail(TextWriter stderr, string message, int code)
    {
        // One line: the first line of the message, so no inner detail or stack trace reaches the user.
        stderr.WriteLine($"error: {message.Split('\n')[0].TrimEnd()}");
        return code;
    }

    /// <summary>" (did you mean X?)" for the nearest candidate within a few edits, or an empty string.</summary>
    public static string Suggest(string word, IEnumerable<string> candidates)
    {
        var best = candidates.Select(c => (c, d: Distance(word, c))).OrderBy(t => t.d).FirstOrDefault();
        return best.c is not null && best.d <= Math.Max(2, word.Length / 3) ? $" (did you mean {best.c}?)" : "";
    }

    static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }

    internal static void WriteJson(string path, object value)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllText(full, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
    }
}

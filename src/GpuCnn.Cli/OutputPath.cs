using System.CommandLine;

namespace GpuCnn.Cli;

/// <summary>
/// Output paths checked when the command line is parsed, before any data is read or any step trained: a file path must
/// not be a directory, and the nearest existing folder above it must be a folder this process can write in (missing
/// folders below it are created when the file is written).
/// </summary>
static class OutputPath
{
    /// <summary>A string option naming a file (or, with <paramref name="directory"/>, a folder) the command writes.</summary>
    public static Option<string?> Option(string name, string description, string helpName, bool directory = false) =>
        Validate(Opt.Text(name, description, helpName), directory);

    /// <summary>Adds the check to an existing option and returns it.</summary>
    public static Option<string?> Validate(Option<string?> o, bool directory = false)
    {
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0) return;
            string path = r.Tokens[^1].Value;
            if (Problem(path, directory) is { } why) r.AddError($"{o.Name} {path}: {why}");
        });
        return o;
    }

    /// <summary>What is wrong with writing to <paramref name="path"/>, or null when nothing is.</summary>
    public static string? Problem(string path, bool directory = false)
    {
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { return "not a valid path"; }
        if (!directory && Directory.Exists(full)) return "is a directory; give a file name";
        if (directory && File.Exists(full)) return "is a file; give a folder";
        string? dir = directory ? full : Path.GetDirectoryName(full);
        while (dir is not null && !Directory.Exists(dir))
        {
            if (File.Exists(dir)) return $"{dir} is a file, not a folder";
            dir = Path.GetDirectoryName(dir);
        }
        if (dir is null) return "no folder above it exists";
        string probe = Path.Combine(dir, $".gpucnn-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot write in {dir}";
        }
        if (!directory && File.Exists(full))
        {
            try { using (new FileStream(full, FileMode.Open, FileAccess.Write)) { } }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "the file exists and cannot be written"; }
        }
        return null;
    }
}

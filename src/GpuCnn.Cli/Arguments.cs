using System.Globalization;

namespace GpuCnn.Cli;

/// <summary>Parsed <c>--name value</c> options and positional arguments, with typed getters and clear errors.</summary>
sealed class Arguments
{
    readonly Dictionary<string, string?> options = new(StringComparer.Ordinal);
    readonly HashSet<string> used = new(StringComparer.Ordinal);

    public List<string> Positional { get; } = new();

    public Arguments(IEnumerable<string> args, ISet<string> flags)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                string key = a[2..];
                string? value = null;
                int eq = key.IndexOf('=');
                if (eq >= 0) { value = key[(eq + 1)..]; key = key[..eq]; }
                else if (!flags.Contains(key))
                {
                    if (i + 1 >= list.Count) throw new UsageException($"option --{key} needs a value");
                    value = list[++i];
                }
                options[key] = value;
            }
            else Positional.Add(a);
        }
    }

    public bool Has(string key) { used.Add(key); return options.ContainsKey(key); }

    public string? String(string key, string? fallback = null)
    {
        used.Add(key);
        return options.TryGetValue(key, out var v) ? v : fallback;
    }

    public int Int(string key, int fallback, int min = int.MinValue)
    {
        string? s = String(key);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
            throw new UsageException($"--{key} must be an integer{(min > int.MinValue ? $" ≥ {min}" : "")}, got '{s}'");
        return v;
    }

    public float Float(string key, float fallback, float min = float.NegativeInfinity)
    {
        string? s = String(key);
        if (s is null) return fallback;
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || float.IsNaN(v) || v < min)
            throw new UsageException($"--{key} must be a number{(min > float.NegativeInfinity ? $" ≥ {min}" : "")}, got '{s}'");
        return v;
    }

    /// <summary>Rejects options the command did not read, so a typo never passes silently.</summary>
    public void RejectUnknown(string command)
    {
        var unknown = options.Keys.Where(k => !used.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"unknown option(s) for '{command}': {string.Join(", ", unknown.Select(u => "--" + u))}");
    }
}

/// <summary>Bad command-line usage; printed without a stack trace.</summary>
sealed class UsageException(string message) : Exception(message);

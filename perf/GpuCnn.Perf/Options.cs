namespace GpuCnn.Perf;

/// <summary>The perf modes' <c>--name value</c> options.</summary>
static class Options
{
    /// <summary>The value after <c>--name</c> in <paramref name="args"/>, or <paramref name="fallback"/>.</summary>
    public static string Get(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}

using System.Globalization;
using System.Text.Json;
using GpuCnn.Serialization;

namespace GpuCnn.Cli;

/// <summary>
/// Facts a checkpoint's header carries for eval and predict, as entries of its existing <c>extra</c> string map, so
/// older readers ignore them and older checkpoints (without them) still load: <c>class_names</c> (a JSON array),
/// <c>channel_mean</c> and <c>channel_std</c> (comma-separated, one per channel), <c>image_size</c> and <c>val_fraction</c>.
/// </summary>
static class CheckpointFacts
{
    public const string ClassNames = "class_names", ChannelMean = "channel_mean", ChannelStd = "channel_std", ImageSize = "image_size", ValFraction = "val_fraction";

    public static void SetClassNames(IDictionary<string, string> extra, IReadOnlyList<string> names) =>
        extra[ClassNames] = JsonSerializer.Serialize(names);

    /// <summary>The stored class names, or null for a checkpoint without them (or with a malformed entry).</summary>
    public static string[]? GetClassNames(CheckpointHeader h)
    {
        if (!h.Extra.TryGetValue(ClassNames, out var json)) return null;
        try { return JsonSerializer.Deserialize<string[]>(json); }
        catch (JsonException) { return null; }
    }

    public static string Floats(IEnumerable<float> v) => string.Join(",", v.Select(x => x.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>Per-channel floats stored under <paramref name="key"/>, or null when absent or unreadable.</summary>
    public static float[]? GetFloats(CheckpointHeader h, string key)
    {
        if (!h.Extra.TryGetValue(key, out var s)) return null;
        var parts = s.Split(',');
        var v = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i])) return null;
        return v;
    }
}

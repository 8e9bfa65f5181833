using GpuCnn.Graphs;

namespace GpuCnn.Models;

/// <summary>Models by name, for the CLI and checkpoints.</summary>
public static class ModelZoo
{
    static readonly Dictionary<string, Func<int, Graph>> Builders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["lenet5"] = classes => LeNet5.Build(classes),
    };

    /// <summary>The names of the models available.</summary>
    public static IReadOnlyList<string> Names => Builders.Keys.ToList();

    /// <summary>Builds a model by name.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid choices.</exception>
    public static Graph Create(string name, int classes = 10)
    {
        if (!Builders.TryGetValue(name, out var build))
            throw new ArgumentException($"unknown model '{name}'; valid choices: {string.Join(", ", Names)}");
        return build(classes);
    }
}

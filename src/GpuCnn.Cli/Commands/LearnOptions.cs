using System.CommandLine;
using GpuCnn.Models;
using GpuCnn.Training;

namespace GpuCnn.Cli.Commands;

/// <summary>--init and --diagnostics: how a zoo model starts, and per-layer statistics while it trains.</summary>
sealed class LearnOptions
{
    public readonly Option<string?> Init = Opt.Text("init", "initialisation: default (PyTorch's), paper for the AlexNets (N(0, 0.01²), biases 1), torchvision for VGG (Kaiming normal), caffe or kaiming for GoogLeNet; default: by model", "NAME");
    public readonly Option<int?> Diagnostics = Opt.Int("diagnostics", "every N steps, print and record each layer's activation mean and std, dead ReLUs, gradient and weight norms", 1);

    public void AddTo(Command c)
    {
        c.Add(Init);
        c.Add(Diagnostics);
    }

    /// <summary>The zoo model with the initialisation asked for; a usage error names the valid choices.</summary>
    public Graphs.Graph Create(ParseResult p, string name, int classes, int imageSize, int channels)
    {
        string? init = p.GetValue(Init);
        if (init is not null && !ModelZoo.InitChoices(name).Contains(init, StringComparer.OrdinalIgnoreCase))
            throw new UsageException($"--init {init}: model '{name}' has {string.Join(" or ", ModelZoo.InitChoices(name))}");
        return ModelZoo.Create(name, classes, imageSize, channels, init);
    }

    /// <summary>The diagnostics asked for, printing to <paramref name="o"/>, or null.</summary>
    public TrainingDiagnostics? Open(ParseResult p, TextWriter o) =>
        p.GetValue(Diagnostics) is int every ? new TrainingDiagnostics(every, o) : null;
}

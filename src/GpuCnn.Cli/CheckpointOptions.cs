using System.CommandLine;
using GpuCnn.Training;

namespace GpuCnn.Cli;

/// <summary>train's checkpoint and recovery options: --save, --save-every, --keep, --save-best, --resume, --on-nonfinite.</summary>
sealed class CheckpointOptions
{
    public readonly Option<string?> Save = OutputPath.Option("save", "write a checkpoint (weights, optimiser and training state, normalisation, class names) after every epoch", "FILE");
    public readonly Option<int?> SaveEvery = Opt.Int("save-every", "also write the --save checkpoint every N steps", 1);
    public readonly Option<int?> Keep = Opt.Int("keep", "also keep the last K checkpoints as FILE-stepN (default 1: only FILE)", 1, "K");
    public readonly Option<bool> SaveBest = Opt.Flag("save-best", "keep the epoch with the best held-out accuracy as FILE-best");
    public readonly Option<string?> Resume = Opt.Text("resume", "continue the run a --save checkpoint left off, exactly (same options)", "FILE");
    public readonly Option<string?> OnNonFinite = Opt.Text("on-nonfinite", "when a loss or gradient is NaN or infinite: stop (default; exit code 3) or skip the update", "stop|skip");

    public void AddTo(Command c)
    {
        c.Add(Save);
        c.Add(SaveEvery);
        c.Add(Keep);
        c.Add(SaveBest);
        c.Add(Resume);
        c.Add(OnNonFinite);
    }

    public NonFinitePolicy Policy(ParseResult p) => p.GetValue(OnNonFinite) switch
    {
        null or "stop" => NonFinitePolicy.Stop,
        "skip" => NonFinitePolicy.Skip,
        var v => throw new UsageException($"--on-nonfinite must be stop or skip, got '{v}'"),
    };

    /// <summary>The policy for --save, or null without it; the other options need --save.</summary>
    public CheckpointPolicy? Create(ParseResult p, IDictionary<string, string> extra)
    {
        string? save = p.GetValue(Save);
        if (save is null)
        {
            if (p.GetValue(SaveEvery) is not null || p.GetValue(Keep) is not null || p.GetValue(SaveBest))
                throw new UsageException("--save-every, --keep and --save-best need --save FILE");
            return null;
        }
        return new CheckpointPolicy(save, p.GetValue(SaveEvery) ?? 0, p.GetValue(Keep) ?? 1, p.GetValue(SaveBest), extra);
    }
}

using GpuCnn.Serialization;

namespace GpuCnn.Training;

/// <summary>
/// When <see cref="Trainer.Fit"/> writes checkpoints, and which it keeps. The latest is always at <see cref="Path"/>
/// (written atomically, after the weights were checked finite, so a bad step never replaces a good file); it is
/// written after every epoch and, with <see cref="SaveEvery"/>, every N steps. With <see cref="Keep"/> K ≥ 2 each
/// checkpoint is also kept as <c>NAME-stepN.EXT</c>, the K newest of those; with <see cref="SaveBest"/> the epoch
/// with the best held-out accuracy is kept as <c>NAME-best.EXT</c>.
/// </summary>
public sealed class CheckpointPolicy
{
    Queue<string>? kept;

    /// <summary>Creates a policy writing to <paramref name="path"/>; <paramref name="extra"/> goes into every header.</summary>
    public CheckpointPolicy(string path, int saveEvery = 0, int keep = 1, bool saveBest = false, IDictionary<string, string>? extra = null)
    {
        if (saveEvery < 0) throw new ArgumentException($"save-every must be ≥ 0, got {saveEvery}");
        if (keep < 1) throw new ArgumentException($"keep must be ≥ 1, got {keep}");
        (Path, SaveEvery, Keep, SaveBest, Extra) = (path, saveEvery, keep, saveBest, extra ?? new Dictionary<string, string>());
    }

    /// <summary>The latest checkpoint's file.</summary>
    public string Path { get; }
    /// <summary>Steps between checkpoints within an epoch (0: at epoch ends only).</summary>
    public int SaveEvery { get; }
    /// <summary>Step-numbered checkpoints kept besides <see cref="Path"/> (1: none).</summary>
    public int Keep { get; }
    /// <summary>Keep the epoch with the best held-out accuracy as <see cref="BestPath"/>.</summary>
    public bool SaveBest { get; }
    /// <summary>Header entries of every checkpoint (class names, normalisation).</summary>
    public IDictionary<string, string> Extra { get; }
    /// <summary>The best held-out accuracy so far (NaN before any), restored with the training state.</summary>
    public double BestAccuracy { get; set; } = double.NaN;
    /// <summary>
    /// Whether this process writes the files (true); under data parallelism every rank runs the policy, since a
    /// checkpoint reads statistics summed over the ranks, and only rank 0 writes.
    /// </summary>
    public bool Writes { get; set; } = true;
    /// <summary>Every file written, in order.</summary>
    public List<string> Written { get; } = new();

    /// <summary><c>NAME-best.EXT</c> beside <see cref="Path"/>.</summary>
    public string BestPath => Sibling("best");

    string Sibling(string tag) =>
        System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!,
            $"{System.IO.Path.GetFileNameWithoutExtension(Path)}-{tag}{System.IO.Path.GetExtension(Path)}");

    internal void AfterStep(Trainer t)
    {
        if (SaveEvery > 0 && t.TotalSteps % SaveEvery == 0) Save(t);
    }

    internal void AfterEpoch(Trainer t, EpochResult r)
    {
        bool best = SaveBest && double.IsFinite(r.TestAccuracy) && !(r.TestAccuracy <= BestAccuracy);
        if (best) BestAccuracy = r.TestAccuracy;
        var path = Save(t);
        if (best && Writes)
        {
            File.Copy(path, BestPath + ".tmp", overwrite: true);
            File.Move(BestPath + ".tmp", BestPath, overwrite: true);
        }
    }

    /// <summary>Writes the trainer's weights, optimiser and training state now; returns the file written.</summary>
    public string Save(Trainer t)
    {
        t.FlushStatistics(); // reads the epoch's sums and checks the weights: a non-finite step stops or is skipped first
        var state = t.CaptureState();
        if (!Writes) return Path;
        Checkpoint.Save(Path, t.Executor.Parameters, t.Optimizer, state.Epoch, Extra, state);
        Written.Add(Path);
        if (Keep > 1)
        {
            string numbered = Sibling($"step{t.TotalSteps}");
            File.Copy(Path, numbered + ".tmp", overwrite: true);
            File.Move(numbered + ".tmp", numbered, overwrite: true);
            kept ??= Existing(); // a resumed run keeps counting the files its first part kept
            if (!kept.Contains(numbered)) kept.Enqueue(numbered);
            while (kept.Count > Keep) File.Delete(kept.Dequeue());
        }
        return Path;
    }

    // The NAME-stepN.EXT files already beside Path, oldest step first.
    Queue<string> Existing()
    {
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!, stem = System.IO.Path.GetFileNameWithoutExtension(Path),
            ext = System.IO.Path.GetExtension(Path);
        var steps = Directory.EnumerateFiles(dir, $"{stem}-step*{ext}")
            .Select(f => (File: f, Step: long.TryParse(System.IO.Path.GetFileNameWithoutExtension(f)[(stem.Length + 5)..], out long n) ? n : -1))
            .Where(x => x.Step >= 0).OrderBy(x => x.Step).Select(x => x.File);
        return new Queue<string>(steps);
    }
}

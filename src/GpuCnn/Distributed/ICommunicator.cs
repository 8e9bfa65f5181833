namespace GpuCnn.Distributed;

/// <summary>
/// The processes that train one model together: the collective operations data parallelism needs. Every rank must
/// call the collectives in the same order. <see cref="Communicator.FromEnvironment"/> gives MPI's world when the
/// process was started by a launcher and a single-process communicator otherwise.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's rank, 0 to <see cref="Size"/> − 1.</summary>
    int Rank { get; }
    /// <summary>The number of processes.</summary>
    int Size { get; }
    /// <summary>This process's rank among the processes of its machine (selects its GPU).</summary>
    int LocalRank { get; }
    /// <summary>What the processes run on, for messages: "single process", "Open MPI (libmpi.so.40)".</summary>
    string Description { get; }
    /// <summary>Replaces <paramref name="data"/> on every rank by its element-wise sum over the ranks.</summary>
    void AllreduceSum(Span<float> data);
    /// <summary>Replaces <paramref name="data"/> on every rank by its element-wise sum over the ranks.</summary>
    void AllreduceSum(Span<double> data);
    /// <summary>Copies <paramref name="data"/> of rank <paramref name="root"/> into every rank's <paramref name="data"/>.</summary>
    void Broadcast(Span<float> data, int root = 0);
    /// <summary>Copies <paramref name="data"/> of rank <paramref name="root"/> into every rank's <paramref name="data"/>.</summary>
    void Broadcast(Span<byte> data, int root = 0);
    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
    /// <summary>Ends every process of the job with <paramref name="exitCode"/>; does not return.</summary>
    void Abort(int exitCode);
}

/// <summary>A communicator of one process: sums and broadcasts leave the data as it is.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    /// <inheritdoc />
    public int Rank => 0;
    /// <inheritdoc />
    public int Size => 1;
    /// <inheritdoc />
    public int LocalRank => 0;
    /// <inheritdoc />
    public string Description => "single process";
    /// <inheritdoc />
    public void AllreduceSum(Span<float> data) { }
    /// <inheritdoc />
    public void AllreduceSum(Span<double> data) { }
    /// <inheritdoc />
    public void Broadcast(Span<float> data, int root = 0) => CheckRoot(root);
    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root = 0) => CheckRoot(root);
    /// <inheritdoc />
    public void Barrier() { }
    /// <inheritdoc />
    public void Abort(int exitCode) => Environment.Exit(exitCode);
    /// <inheritdoc />
    public void Dispose() { }

    static void CheckRoot(int root) => ArgumentOutOfRangeException.ThrowIfNotEqual(root, 0);
}

/// <summary>Chooses the communicator of this process.</summary>
public static class Communicator
{
    /// <summary>
    /// True when a launcher started this process as one rank of several: <c>mpirun</c>/<c>mpiexec</c> of Open MPI
    /// (<c>OMPI_COMM_WORLD_SIZE</c>), MPICH's Hydra (<c>PMI_SIZE</c>), or <c>srun</c> with PMIx (<c>PMIX_RANK</c>).
    /// </summary>
    public static bool Launched(Func<string, string?> env) =>
        env("OMPI_COMM_WORLD_SIZE") is not null || env("PMI_SIZE") is not null || env("PMIX_RANK") is not null;

    /// <summary>The local rank the launcher gives (<c>OMPI_COMM_WORLD_LOCAL_RANK</c>, <c>MPI_LOCALRANKID</c>, <c>SLURM_LOCALID</c>), else 0.</summary>
    public static int LocalRankOf(Func<string, string?> env)
    {
        foreach (var name in new[] { "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID" })
            if (int.TryParse(env(name), out int r) && r >= 0) return r;
        return 0;
    }

    /// <summary>
    /// MPI's world when <see cref="Launched"/> says a launcher started this process (loading libmpi only then), else
    /// a <see cref="SingleProcessCommunicator"/>.
    /// </summary>
    public static ICommunicator FromEnvironment()
    {
        Func<string, string?> env = Environment.GetEnvironmentVariable;
        return Launched(env) ? MpiCommunicator.Initialize(MpiLibrary.Load(), LocalRankOf(env)) : new SingleProcessCommunicator();
    }
}

namespace GpuCnn.Distributed;

/// <summary>
/// MPI_COMM_WORLD through <see cref="MpiLibrary"/>. MPI is initialised with MPI_THREAD_SERIALIZED and every call
/// holds one lock, so the gradient thread and the training thread may both use it (in an order every rank shares).
/// MPI counts are <c>int</c>, so long spans go in chunks of <see cref="ChunkElements"/>.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    /// <summary>Elements per MPI call (2²⁸: 1 GiB of floats, well under int.MaxValue).</summary>
    public const int ChunkElements = 1 << 28;
    const int ThreadSerialized = 2;

    readonly MpiLibrary mpi;
    readonly object gate = new();
    bool disposed;

    MpiCommunicator(MpiLibrary mpi, int rank, int size, int localRank)
    {
        this.mpi = mpi;
        Rank = rank;
        Size = size;
        LocalRank = localRank;
    }

    /// <summary>Calls MPI_Init_thread (unless MPI is already initialised) and reads rank and size of the world.</summary>
    public static MpiCommunicator Initialize(MpiLibrary mpi, int localRank)
    {
        int flag;
        MpiLibrary.Check(mpi.Initialized(&flag), "MPI_Initialized");
        if (flag == 0)
        {
            int provided;
            MpiLibrary.Check(mpi.InitThread(null, null, ThreadSerialized, &provided), "MPI_Init_thread");
            if (provided < ThreadSerialized)
                throw new MpiException($"{mpi.Path} provides thread level {provided}; GpuCnn needs MPI_THREAD_SERIALIZED");
        }
        int rank, size;
        MpiLibrary.Check(mpi.CommRank(mpi.CommWorld, &rank), "MPI_Comm_rank");
        MpiLibrary.Check(mpi.CommSize(mpi.CommWorld, &size), "MPI_Comm_size");
        return new MpiCommunicator(mpi, rank, size, localRank);
    }

    /// <inheritdoc />
    public int Rank { get; }
    /// <inheritdoc />
    public int Size { get; }
    /// <inheritdoc />
    public int LocalRank { get; }
    /// <summary>The bound implementation.</summary>
    public MpiFlavour Flavour => mpi.Flavour;
    /// <inheritdoc />
    public string Description => $"{(mpi.Flavour == MpiFlavour.OpenMpi ? "Open MPI" : "MPICH")} ({mpi.Path}), {Size} ranks";

    /// <inheritdoc />
    public void AllreduceSum(Span<float> data)
    {
        fixed (float* p = data) Reduce((nint)p, data.Length, sizeof(float), mpi.Float);
    }

    /// <inheritdoc />
    public void AllreduceSum(Span<double> data)
    {
        fixed (double* p = data) Reduce((nint)p, data.Length, sizeof(double), mpi.Double);
    }

    /// <summary>In-place sum of <paramref name="count"/> floats at <paramref name="data"/> (host memory, e.g. a CPU accelerator's buffer).</summary>
    public void AllreduceSum(nint data, long count) => Reduce(data, count, sizeof(float), mpi.Float);

    void Reduce(nint data, long count, int elementSize, nint type)
    {
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            for (long at = 0; at < count; at += ChunkElements)
            {
                int n = (int)Math.Min(ChunkElements, count - at);
                MpiLibrary.Check(mpi.Allreduce(mpi.InPlace, data + (nint)(at * elementSize), n, type, mpi.Sum, mpi.CommWorld), "MPI_Allreduce");
            }
        }
    }

    /// <inheritdoc />
    public void Broadcast(Span<float> data, int root = 0)
    {
        fixed (float* p = data) Bcast((nint)p, data.Length, sizeof(float), mpi.Float, root);
    }

    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root = 0)
    {
        fixed (byte* p = data) Bcast((nint)p, data.Length, 1, mpi.Byte, root);
    }

    void Bcast(nint data, long count, int elementSize, nint type, int root)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            for (long at = 0; at < count; at += ChunkElements)
            {
                int n = (int)Math.Min(ChunkElements, count - at);
                MpiLibrary.Check(mpi.Bcast(data + (nint)(at * elementSize), n, type, root, mpi.CommWorld), "MPI_Bcast");
            }
        }
    }

    /// <inheritdoc />
    public void Barrier()
    {
        lock (gate) MpiLibrary.Check(mpi.Barrier(mpi.CommWorld), "MPI_Barrier");
    }

    /// <summary>MPI_Abort on the world, without the lock: a rank that fails while another thread waits in a collective must still end the job.</summary>
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        mpi.Abort(mpi.CommWorld, exitCode);
        Environment.Exit(exitCode); // MPI_Abort does not return; this is for an implementation that does
    }

    /// <summary>MPI_Finalize (once; MPI cannot be initialised again in this process).</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            int done;
            if (mpi.Finalized(&done) == 0 && done == 0) mpi.Finalize();
        }
    }
}

using System.CommandLine;
using GpuCnn.Devices;
using GpuCnn.Distributed;
using GpuCnn.Training;

namespace GpuCnn.Cli;

/// <summary>
/// <c>train</c>'s data parallelism: <c>--grad-accum</c>, the communicator of the process (MPI only when a launcher
/// started it), rank 0 alone printing and writing files, and MPI_Abort when any rank fails.
/// </summary>
sealed class DistributedOptions
{
    public readonly Option<int?> GradAccum = Opt.Int("grad-accum",
        "accumulate the gradients of K micro-batches of --batch-size per optimiser step (default 1); under mpirun each rank does", 1, "K");

    public void AddTo(Command c) => c.Add(GradAccum);

    /// <summary>The device spec a rank takes when neither --device nor --devices is given (null: the usual auto).</summary>
    public static string? DefaultDevice(ICommunicator comm) =>
        comm.Size > 1 ? RankDevice.Default(comm.LocalRank, DeviceManager.List()) : null;

    /// <summary>
    /// Runs <paramref name="body"/> with the process's communicator and the writer it may print to (rank 0's output,
    /// a null writer elsewhere). With several ranks, an exception on any of them prints one line naming the rank and
    /// calls MPI_Abort, so the whole job ends with a non-zero status instead of the others waiting in a collective.
    /// </summary>
    public static int Run(TextWriter stdout, Func<ICommunicator, TextWriter, int> body)
    {
        using var comm = Communicator.FromEnvironment();
        if (comm.Size == 1) return body(comm, stdout);
        try
        {
            int code = body(comm, comm.Rank == 0 ? stdout : TextWriter.Null);
            comm.Barrier(); // no rank finalises while another still writes its results
            return code;
        }
        catch (Exception e)
        {
            int code = e is UsageException or ArgumentException ? 2 : 1;
            Console.Error.WriteLine($"error: rank {comm.Rank} of {comm.Size}: {e.Message.Split('\n')[0].TrimEnd()}");
            comm.Abort(code);
            return code;
        }
    }

    /// <summary>One line on the ranks and the global batch, or nothing for one process without accumulation.</summary>
    public static string? Describe(Trainer trainer)
    {
        if (trainer.Parallel is not { } dp) return null;
        var o = trainer.Options;
        var g = dp.Gradients.Layout;
        return $"data parallel: {dp.Communicator.Description}; {o.BatchSize} images × {dp.MicroBatches} micro-batches × " +
               $"{dp.Communicator.Size} ranks = {o.BatchSize * dp.MicroBatches * dp.Communicator.Size} per step; " +
               $"{g.Elements:N0} gradients in {g.Buckets.Count} bucket{(g.Buckets.Count == 1 ? "" : "s")}";
    }

    /// <summary>Allreduce time and overlap per step, after training with several ranks.</summary>
    public static string? Timing(Trainer trainer)
    {
        if (trainer.Parallel is not { Communicator.Size: > 1 } dp || dp.Gradients.Steps == 0) return null;
        var s = dp.Gradients;
        return $"allreduce: {s.CommunicationSeconds * 1e3 / s.Steps:F2} ms per step, waited {s.WaitSeconds * 1e3 / s.Steps:F2} ms " +
               $"({s.Overlap * 100:F0}% overlapped with the backward pass)";
    }
}

using System.Diagnostics;
using System.Text;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Distributed;

/// <summary>
/// <c>mpirun -np 2 gpucnn train</c> in child processes: data parallelism equals one process that accumulates the same
/// micro-batches bit for bit, and one process at the global batch within float rounding; failures end the job.
/// </summary>
[Collection("mpi")] // one MPI job at a time: the 2-core CI machine runs each job's ranks side by side
public class MpiTrainingTests
{
    static readonly string[] LeNet = ["train", "lenet5", "--device", "cpu", "--steps", "20", "--seed", "1", "--lr", "0.05"];

    // A checkpoint's weights and optimiser state: the bytes between the header and the CRC. The header's training
    // state differs by design (the executor's random-number counter, the epoch's wall-clock seconds).
    static byte[] Payload(string file)
    {
        byte[] b = File.ReadAllBytes(file);
        int header = BitConverter.ToInt32(b, 12);
        return b[(16 + header)..^4];
    }

    static void AssertOk(MpiJob.Result r)
    {
        Assert.False(r.TimedOut, r.ToString());
        Assert.True(r.Code == 0, r.ToString());
    }

    [SkippableFact]
    public void Two_ranks_equal_one_rank_accumulating_two_micro_batches_and_one_rank_at_twice_the_batch()
    {
        string dir = MpiJob.TempDir();
        var two = MpiJob.OpenMpi(2, dir, [.. LeNet, "--batch-size", "16", "--metrics", "two.json", "--save", "two.ck"]);
        AssertOk(two);
        var accum = MpiJob.Single(dir, [.. LeNet, "--batch-size", "16", "--grad-accum", "2", "--metrics", "accum.json", "--save", "accum.ck"]);
        AssertOk(accum);
        var wide = MpiJob.Single(dir, [.. LeNet, "--batch-size", "32", "--metrics", "wide.json"]);
        AssertOk(wide);

        // Only rank 0 prints its results.
        Assert.Single(two.Out.Split('\n'), l => l.StartsWith("final test accuracy"));
        Assert.Contains("data parallel: Open MPI", two.Out);
        Assert.Contains("2 ranks = 32 per step", two.Out);
        double[] a = MpiJob.Losses(Path.Combine(dir, "two.json")), b = MpiJob.Losses(Path.Combine(dir, "accum.json")),
            c = MpiJob.Losses(Path.Combine(dir, "wide.json"));
        Assert.Equal(20, a.Length);
        Assert.Equal(b, a); // bit for bit: the same sums in the same order
        Assert.Equal(Payload(Path.Combine(dir, "accum.ck")), Payload(Path.Combine(dir, "two.ck")));
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - c[i]) <= 1e-5 * Math.Abs(c[i]), $"step {i + 1}: 2 ranks {a[i]:R}, one rank at batch 32 {c[i]:R}");
        Assert.True(a[^1] < a[0] - 0.01, $"the loss should fall: {a[0]} -> {a[^1]}");

        // Rank 0's checkpoint loads and evaluates to what training reported.
        var eval = CliRunner.Run("eval", "lenet5", "--load", Path.Combine(dir, "two.ck"), "--device", "cpu");
        Assert.True(eval.Code == 0, eval.Err);
        string final = two.Out.Split('\n').First(l => l.StartsWith("final test accuracy"));
        string acc = final.Split(' ')[3]; // "final test accuracy 41.25% on ..."
        Assert.Contains("accuracy " + acc, eval.Out); // the sharded, reduced evaluation equals one process's
    }

    /// <summary>
    /// alexnet-2tower (dropout in its classifier) with the towers on two devices in each rank: 2 ranks equal 1 rank
    /// accumulating 2 micro-batches bit for bit, and 1 rank at twice the batch within float rounding, since every
    /// micro-batch draws its part of the whole batch's dropout masks.
    /// </summary>
    [SkippableFact]
    public void Towers_inside_each_rank_combine_with_data_parallelism_bit_for_bit()
    {
        string dir = MpiJob.TempDir();
        string[] alex = ["train", "alexnet-2tower", "--devices", "cpu,cpu", "--placement", "towers", "--data", "synthetic",
            "--image-size", "63", "--synthetic-count", "32", "--steps", "2", "--seed", "1"];
        var two = MpiJob.OpenMpi(2, dir, [.. alex, "--batch-size", "2", "--metrics", "two.json", "--save", "two.ck"]);
        AssertOk(two);
        var accum = MpiJob.Single(dir, [.. alex, "--batch-size", "2", "--grad-accum", "2", "--metrics", "accum.json", "--save", "accum.ck"]);
        AssertOk(accum);
        var wide = MpiJob.Single(dir, [.. alex, "--batch-size", "4", "--metrics", "wide.json"]);
        AssertOk(wide);
        Assert.Contains("placement:", two.Out);
        double[] a = MpiJob.Losses(Path.Combine(dir, "two.json")), c = MpiJob.Losses(Path.Combine(dir, "wide.json"));
        Assert.Equal(MpiJob.Losses(Path.Combine(dir, "accum.json")), a);
        Assert.Equal(Payload(Path.Combine(dir, "accum.ck")), Payload(Path.Combine(dir, "two.ck")));
        Assert.Equal(2, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(a[i] - c[i]) <= 1e-5 * Math.Abs(c[i]), $"step {i + 1}: 2 ranks {a[i]:R}, one rank at batch 4 {c[i]:R}");
    }

    [SkippableFact]
    public void A_rank_that_throws_ends_the_job_with_a_non_zero_status_within_30_seconds()
    {
        string dir = MpiJob.TempDir();
        string mpirun = MpiJob.RequireOpenMpi();
        // MPMD: rank 1 is given a data folder that does not exist, after MPI is up; rank 0 waits in the first collective.
        string[] ok = ["dotnet", MpiJob.CliDll, .. LeNet];
        var r = MpiJob.Run(mpirun, [.. MpiJob.OpenMpiArgs(1), .. ok, ":", "-np", "1", .. ok, "--data-dir", Path.Combine(dir, "missing")], dir, 60);
        Assert.False(r.TimedOut, r.ToString());
        Assert.NotEqual(0, r.Code);
        Assert.True(r.Seconds < 30, r.ToString());
        Assert.Contains("error: rank 1 of 2:", r.Err);

        // Rank 0 fails at the end, writing its metrics to a full device (the path passes the start-up checks; the write
        // fails with "no space left"), while rank 1 waits in the last barrier.
        Assert.True(File.Exists("/dev/full"), "the test needs /dev/full");
        string[] short_ = ["dotnet", MpiJob.CliDll, "train", "lenet5", "--device", "cpu", "--steps", "2", "--batch-size", "8"];
        var late = MpiJob.Run(mpirun, [.. MpiJob.OpenMpiArgs(2), .. short_, "--metrics", "/dev/full"], dir, 60);
        Assert.False(late.TimedOut, late.ToString());
        Assert.NotEqual(0, late.Code);
        Assert.True(late.Seconds < 30, late.ToString());
        Assert.Contains("error: rank 0 of 2:", late.Err);
    }

    /// <summary>
    /// A rank-0 checkpoint taken mid-epoch resumes on 2 ranks, and on 1 rank accumulating 2 micro-batches (the same
    /// global batch and steps per epoch), and both continue exactly as the uninterrupted 2-rank run.
    /// </summary>
    [SkippableFact]
    public void A_rank_0_checkpoint_resumes_on_two_ranks_and_on_one_exactly()
    {
        string dir = MpiJob.TempDir();
        string[] run = ["train", "lenet5", "--device", "cpu", "--seed", "1", "--lr", "0.05", "--batch-size", "16"];
        AssertOk(MpiJob.OpenMpi(2, dir, [.. run, "--steps", "8", "--metrics", "full.json", "--save", "full.ck"]));
        AssertOk(MpiJob.OpenMpi(2, dir, [.. run, "--steps", "4", "--save", "part.ck"]));
        File.Copy(Path.Combine(dir, "part.ck"), Path.Combine(dir, "part1.ck"));
        var two = MpiJob.OpenMpi(2, dir, [.. run, "--steps", "8", "--resume", "part.ck", "--metrics", "two.json", "--save", "two.ck"]);
        AssertOk(two);
        Assert.Contains("resumed from part.ck: epoch 1, batch 4, step 4", two.Out);
        var one = MpiJob.Single(dir, [.. run, "--steps", "8", "--grad-accum", "2", "--resume", "part1.ck", "--metrics", "one.json", "--save", "one.ck"]);
        AssertOk(one);
        double[] full = MpiJob.Losses(Path.Combine(dir, "full.json"));
        Assert.Equal(8, full.Length);
        Assert.Equal(full, MpiJob.Losses(Path.Combine(dir, "two.json")));
        Assert.Equal(full, MpiJob.Losses(Path.Combine(dir, "one.json")));
        Assert.Equal(Payload(Path.Combine(dir, "full.ck")), Payload(Path.Combine(dir, "two.ck")));
        Assert.Equal(Payload(Path.Combine(dir, "full.ck")), Payload(Path.Combine(dir, "one.ck")));
    }

    [SkippableFact]
    public void The_allreduce_benchmark_checks_and_times_the_sum()
    {
        var r = MpiJob.OpenMpi(2, MpiJob.TempDir(), "allreduce", "--sizes", "1K,100K", "--repeat", "2");
        AssertOk(r);
        Assert.Contains("Open MPI (libmpi.so.40), 2 ranks", r.Out);
        Assert.Contains("       1,000 ", r.Out);
        Assert.Contains("     100,000 ", r.Out);
    }

    [SkippableFact]
    public void Ranks_with_different_options_stop_with_one_clear_error()
    {
        string dir = MpiJob.TempDir();
        string mpirun = MpiJob.RequireOpenMpi();
        string[] ok = ["dotnet", MpiJob.CliDll, .. LeNet];
        var r = MpiJob.Run(mpirun, [.. MpiJob.OpenMpiArgs(1), .. ok, ":", "-np", "1", .. ok, "--momentum", "0.5"], dir, 60);
        Assert.False(r.TimedOut, r.ToString());
        Assert.NotEqual(0, r.Code);
        Assert.Contains("ranks have different model, placement and options than rank 0", r.Err);
    }

    [SkippableFact]
    public void A_rank_killed_with_sigkill_ends_the_job()
    {
        string dir = MpiJob.TempDir();
        string mpirun = MpiJob.RequireOpenMpi();
        var (o, e) = (new StringBuilder(), new StringBuilder());
        var clock = Stopwatch.StartNew();
        using var p = MpiJob.Start(mpirun, [.. MpiJob.OpenMpiArgs(2), "dotnet", MpiJob.CliDll, "train", "lenet5", "--device", "cpu",
            "--epochs", "50", "--batch-size", "8"], dir, o, e);
        // Rank 0 prints "data parallel:" once both ranks are training.
        while (clock.Elapsed.TotalSeconds < 60 && !p.HasExited)
        {
            lock (o) if (o.ToString().Contains("data parallel:")) break;
            Thread.Sleep(100);
        }
        int victim = RankPid(p.Id, 1);
        Assert.True(victim > 0, $"rank 1 not found among the children of mpirun {p.Id}\n{o}\n{e}");
        Process.GetProcessById(victim).Kill(); // SIGKILL
        var killedAt = clock.Elapsed.TotalSeconds;
        var r = MpiJob.Wait(p, o, e, 30, clock);
        Assert.False(r.TimedOut, r.ToString());
        Assert.NotEqual(0, r.Code);
        Assert.True(r.Seconds - killedAt < 15, $"the job took {r.Seconds - killedAt:F1} s to end after the kill\n{r}");
    }

    // The child of the launcher whose environment says OMPI_COMM_WORLD_RANK=rank.
    static int RankPid(int launcher, int rank)
    {
        foreach (var task in Directory.GetDirectories($"/proc/{launcher}/task"))
            foreach (var child in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string env;
                try { env = File.ReadAllText($"/proc/{child}/environ"); } catch (IOException) { continue; }
                if (env.Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) return int.Parse(child);
            }
        return -1;
    }

    /// <summary>The binding on MPICH: its integer handles and MPI_IN_PLACE. Long: CI installs Open MPI only.</summary>
    [SkippableFact, Trait("Category", "Long")]
    public void The_binding_runs_on_mpich_too()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1", "MPICH run: set GPUCNN_LONG_TESTS=1 to include it");
        string? mpiexec = MpiJob.Which("mpiexec.mpich");
        Skip.If(mpiexec is null, "mpiexec.mpich not found: install mpich");
        string dir = MpiJob.TempDir();
        var two = MpiJob.Run(mpiexec!, ["-n", "2", "dotnet", MpiJob.CliDll, .. LeNet, "--batch-size", "16", "--metrics", "two.json"], dir);
        AssertOk(two);
        Assert.Contains("data parallel: MPICH", two.Out);
        var sum = MpiJob.Run(mpiexec!, ["-n", "2", "dotnet", MpiJob.CliDll, "allreduce", "--sizes", "1K,100K", "--repeat", "2"], dir);
        AssertOk(sum); // it checks the sum of each size itself
        var accum = MpiJob.Single(dir, [.. LeNet, "--batch-size", "16", "--grad-accum", "2", "--metrics", "accum.json"]);
        AssertOk(accum);
        Assert.Equal(MpiJob.Losses(Path.Combine(dir, "accum.json")), MpiJob.Losses(Path.Combine(dir, "two.json")));
    }
}

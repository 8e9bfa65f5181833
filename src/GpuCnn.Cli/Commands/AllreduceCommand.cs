using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GpuCnn.Distributed;

namespace GpuCnn.Cli.Commands;

/// <summary>
/// <c>mpirun -np N gpucnn allreduce</c>: times the in-place float sum-allreduce that data-parallel training uses, for
/// gradient-sized buffers, and checks its result. Rank 0 prints.
/// </summary>
static class AllreduceCommand
{
    public static Command Create(TextWriter stdout)
    {
        var sizes = Opt.Text("sizes", "buffer sizes in floats, comma-separated, K = 1,000 and M = 1,000,000 (default 1M,16M,61M)", "N,N,...");
        var repeat = Opt.Int("repeat", "timed calls per size, after one checked warm-up call (default 5)", 1);
        var c = new Command("allreduce", "Time the gradient allreduce between MPI ranks (start it with mpirun).") { sizes, repeat };
        c.SetAction(p => DistributedOptions.Run(stdout, (comm, o) =>
        {
            if (p.UnmatchedTokens.Count > 0) throw new UsageException("'allreduce' takes no arguments");
            var list = (p.GetValue(sizes) ?? "1M,16M,61M").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(Parse).ToList();
            int reps = p.GetValue(repeat) ?? 5;
            o.WriteLine($"allreduce: {comm.Description}; sum of float32 in place, {reps} timed calls per size");
            o.WriteLine($"{"floats",12} {"MB",8} {"ms",10} {"algbw GB/s",11} {"busbw GB/s",11}");
            var buffer = new float[list.Max()];
            foreach (int n in list)
            {
                var span = buffer.AsSpan(0, n);
                span.Fill(comm.Rank + 1);
                comm.AllreduceSum(span);
                float expected = comm.Size * (comm.Size + 1) / 2f;
                if (span[0] != expected || span[^1] != expected)
                    throw new InvalidOperationException($"allreduce of {n} floats gave {span[0]} and {span[^1]}, expected {expected}");
                comm.Barrier();
                long t0 = Stopwatch.GetTimestamp();
                for (int r = 0; r < reps; r++) comm.AllreduceSum(span);
                comm.Barrier();
                double secs = Stopwatch.GetElapsedTime(t0).TotalSeconds / reps;
                double bytes = 4.0 * n, alg = bytes / secs / 1e9;
                // Bus bandwidth: what each link carries in a ring allreduce, 2(N−1)/N of the buffer.
                double bus = alg * 2 * (comm.Size - 1) / Math.Max(1, comm.Size);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{n,12:N0} {bytes / 1e6,8:F1} {secs * 1e3,10:F2} {alg,11:F2} {bus,11:F2}"));
            }
            return 0;
        }));
        return c;
    }

    static int Parse(string s)
    {
        long scale = s.EndsWith('M') || s.EndsWith('m') ? 1_000_000 : s.EndsWith('K') || s.EndsWith('k') ? 1_000 : 1; // decimal: AlexNet has 61M parameters
        string digits = scale == 1 ? s : s[..^1];
        if (!long.TryParse(digits, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) || v < 1 || v * scale > 500_000_000)
            throw new UsageException($"--sizes: '{s}' is not a count of floats from 1 to 500M");
        return (int)(v * scale);
    }
}

namespace GpuCnn.Devices;

/// <summary>Work of a <see cref="HostPool"/> run: items 0..count-1, independent of each other and of which thread runs them.</summary>
internal interface IHostWork
{
    /// <summary>Runs item <paramref name="index"/>.</summary>
    void Execute(int index);
}

/// <summary>
/// The host threads of the CPU accelerator's host paths (<see cref="HostKernel{TArgs}"/>, <see cref="SimdGemm"/>): one
/// persistent worker per processor but one, and the calling thread. A run hands out items by an atomic counter and
/// returns when all have finished; it allocates nothing (a warm training step stays allocation-free). One run at a
/// time: a caller that finds the pool busy, or calls it from inside a run, runs its items itself.
/// </summary>
internal static class HostPool
{
    /// <summary>Threads a run can use, the caller included.</summary>
    public static readonly int Threads = Math.Max(1, Environment.ProcessorCount);

    static readonly object gate = new();
    static readonly SemaphoreSlim start = new(0);
    static readonly ManualResetEventSlim done = new(false);
    static bool started;
    static IHostWork? work;
    static int count, next, pending;
    static Exception? failure;
    [ThreadStatic] static bool inside;

    /// <summary>Runs items 0..<paramref name="items"/>-1 of <paramref name="w"/> on up to <paramref name="threads"/> threads.</summary>
    public static void Run(IHostWork w, int items, int threads = int.MaxValue)
    {
        int helpers = Math.Min(Math.Min(threads, Threads) - 1, items - 1);
        if (helpers <= 0 || inside || !Monitor.TryEnter(gate))
        {
            for (int i = 0; i < items; i++) w.Execute(i);
            return;
        }
        try
        {
            if (!started) StartWorkers();
            work = w;
            count = items;
            next = 0;
            failure = null;
            pending = helpers;
            done.Reset();
            start.Release(helpers);
            Drain();
            done.Wait();
            work = null;
            if (failure is { } e) throw new AggregateException(e);
        }
        finally { Monitor.Exit(gate); }
    }

    static void StartWorkers()
    {
        for (int i = 0; i < Threads - 1; i++)
            new Thread(Worker) { IsBackground = true, Name = $"GpuCnn host {i}" }.Start();
        started = true;
    }

    static void Drain()
    {
        inside = true;
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref next) - 1) < count) work!.Execute(i);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref failure, e, null);
            Interlocked.Exchange(ref next, count); // stop handing out items
        }
        finally { inside = false; }
    }

    static void Worker()
    {
        while (true)
        {
            start.Wait();
            Drain();
            if (Interlocked.Decrement(ref pending) == 0) done.Set();
        }
    }
}

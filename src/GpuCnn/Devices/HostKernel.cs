using ILGPU;

namespace GpuCnn.Devices;

/// <summary>
/// Runs a chunked kernel body on the host for the CPU accelerator (<see cref="ComputeDevice.HostKernels"/>): thread
/// t of the launch is one call of the body, exactly as ILGPU would make it, spread over the cores by
/// <see cref="HostPool"/>. The stream is drained first, so work queued before (copies, grouped kernels) has finished.
/// </summary>
internal sealed class HostKernel<TArgs> : IHostWork where TArgs : struct
{
    /// <summary>Launches with fewer elements run on the calling thread: waking workers costs more than they save.</summary>
    public const int InlineElements = 4096;

    readonly Action<Index1D, int, int, TArgs> body;
    HostKernel<TArgs>? spare; // reused by the next launch, so a launch allocates nothing
    int n, chunk;
    TArgs args;

    public HostKernel(Action<Index1D, int, int, TArgs> body)
    {
        this.body = body;
        spare = this;
    }

    /// <summary>Runs the body over <paramref name="n"/> elements in chunks of <paramref name="chunk"/>.</summary>
    public void Run(ComputeDevice device, int n, int chunk, TArgs args)
    {
        device.Synchronize();
        int threads = (n + chunk - 1) / chunk;
        if (n < InlineElements || threads <= 1)
        {
            for (int t = 0; t < threads; t++) body(t, n, chunk, args);
            return;
        }
        // Another thread may be launching the same kernel of a shared device: it gets a job of its own.
        var job = Interlocked.Exchange(ref spare, null) ?? new HostKernel<TArgs>(body);
        (job.n, job.chunk, job.args) = (n, chunk, args);
        try { HostPool.Run(job, threads); }
        finally { job.args = default; spare = job; }
    }

    /// <inheritdoc/>
    public void Execute(int index) => body(index, n, chunk, args);
}

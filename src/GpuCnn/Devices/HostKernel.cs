using ILGPU;

namespace GpuCnn.Devices;

/// <summary>
/// Runs a chunked kernel body on the host for the CPU accelerator (<see cref="ComputeDevice.HostKernels"/>): thread
/// t of the launch is one call of the body, exactly as ILGPU would make it, spread over the processor's cores. The
/// stream is drained first, so work queued before (copies, grouped kernels) has finished.
/// </summary>
internal static class HostKernel
{
    /// <summary>Launches with fewer elements run on the calling thread: starting workers costs more than they save.</summary>
    public const int InlineElements = 4096;

    static readonly int Workers = Environment.ProcessorCount;

    public static void Run<TArgs>(ComputeDevice device, Action<Index1D, int, int, TArgs> body, int n, int chunk, TArgs args)
        where TArgs : struct
    {
        device.Synchronize();
        int threads = (n + chunk - 1) / chunk;
        int workers = Math.Min(Workers, threads);
        if (n < InlineElements || workers <= 1)
        {
            for (int t = 0; t < threads; t++) body(t, n, chunk, args);
            return;
        }
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            for (int t = w; t < threads; t += workers) body(t, n, chunk, args);
        });
    }
}

using ILGPU;

namespace GpuCnn.Kernels;

/// <summary>
/// Launch convention shared by every kernel: thread <c>t</c> owns the contiguous element range
/// <c>[t*chunk, min((t+1)*chunk, n))</c>. A GPU launches with <c>chunk = 1</c> (one element per thread);
/// the CPU accelerator launches a few threads per core with large chunks, which avoids ILGPU's per-thread
/// dispatch cost there. The same kernel body serves both.
/// </summary>
public static class Chunk
{
    /// <summary>First element owned by thread <paramref name="t"/>.</summary>
    public static int Start(Index1D t, int chunk) => t.X * chunk;

    /// <summary>One past the last element owned by thread <paramref name="t"/>.</summary>
    public static int End(Index1D t, int chunk, int n)
    {
        int e = t.X * chunk + chunk;
        return e < n ? e : n;
    }
}

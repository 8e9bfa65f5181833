using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Devices;

public sealed partial class ComputeDevice
{
    readonly BufferPool pool = new();

    /// <summary>
    /// Rents a float buffer of at least <paramref name="length"/> elements. Sizes are rounded up to a power of two
    /// (at least 256), so a steady workload reuses the same buffers and allocates nothing once warm.
    /// </summary>
    public MemoryBuffer1D<float, Stride1D.Dense> Rent(long length) => pool.Rent(this, length);

    /// <summary>Returns a buffer from <see cref="Rent"/> to the pool.</summary>
    public void Return(MemoryBuffer1D<float, Stride1D.Dense> buffer) => pool.Return(buffer);

    /// <summary>Buffers allocated by the pool since the device was opened (for allocation tests).</summary>
    public int PoolAllocations => pool.Allocations;

    sealed class BufferPool
    {
        readonly Dictionary<long, Stack<MemoryBuffer1D<float, Stride1D.Dense>>> free = new();
        readonly object gate = new();
        public int Allocations;

        static long Bucket(long n)
        {
            long b = 256;
            while (b < n) b <<= 1;
            return b;
        }

        public MemoryBuffer1D<float, Stride1D.Dense> Rent(ComputeDevice dev, long length)
        {
            long size = Bucket(length);
            lock (gate)
            {
                if (free.TryGetValue(size, out var s) && s.Count > 0) return s.Pop();
                Allocations++;
            }
            return dev.Accelerator.Allocate1D<float>(size);
        }

        public void Return(MemoryBuffer1D<float, Stride1D.Dense> buffer)
        {
            lock (gate)
            {
                if (!free.TryGetValue(buffer.Length, out var s)) free[buffer.Length] = s = new();
                s.Push(buffer);
            }
        }

        public void Clear()
        {
            lock (gate)
            {
                foreach (var s in free.Values)
                    while (s.Count > 0) s.Pop().Dispose();
                free.Clear();
            }
        }
    }
}

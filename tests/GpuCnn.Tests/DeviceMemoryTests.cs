using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>ComputeDevice.MemoryInUse: the driver's figure on CUDA, and an honest null where a back end has none.</summary>
public class DeviceMemoryTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Memory_in_use_grows_by_an_allocation_on_cuda_and_is_null_elsewhere(string backend)
    {
        using var dev = Backends.Private(backend); // other tests allocate on the shared device meanwhile
        long? before = dev.MemoryInUse();
        if (backend != "cuda")
        {
            Assert.Null(before);
            return;
        }
        Assert.NotNull(before);
        const long bytes = 256L << 20;
        using (var buf = dev.Allocate<float>(bytes / sizeof(float)))
        {
            long during = dev.MemoryInUse()!.Value;
            // Other processes may allocate too, so only a lower bound is certain.
            Assert.True(during - before!.Value >= bytes, $"in use went from {before} to {during} B around a {bytes} B allocation");
        }
    }
}

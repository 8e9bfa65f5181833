using GpuCnn.Devices;
using GpuCnn.Models;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// The CPU accelerator's chunked kernels run as host loops (<see cref="ComputeDevice.HostKernels"/>): the same
/// bodies as ILGPU's launches, so seeded training gives the same bits either way, with the same launch count; and
/// GPUs never take the host path.
/// </summary>
public class HostKernelTests
{
    [SkippableTheory]
    [InlineData("lenet5", 28, 1, 4)]
    [InlineData("resnet18", 16, 3, 2)] // BatchNorm, Add, global pooling, strided and 1×1 convolutions
    public void Host_loops_train_bit_identical_to_ILGPU_launches(string model, int size, int channels, int batch)
    {
        using var dev = Backends.Private("cpu");
        Assert.True(dev.HostKernels || Environment.GetEnvironmentVariable("GPUCNN_CPU_HOST_KERNELS") == "0");
        dev.HostKernels = false;
        var launched = FusionCheck.Train(dev, ModelZoo.Create(model, 10, size, channels), batch, true, 2);
        dev.HostKernels = true;
        Assert.True(dev.HostKernels);
        var hosted = FusionCheck.Train(dev, ModelZoo.Create(model, 10, size, channels), batch, true, 2);
        Assert.Equal(launched.Losses, hosted.Losses);
        for (int i = 0; i < launched.Grads.Length; i++) Assert.Equal(launched.Grads[i], hosted.Grads[i]);
        Assert.Equal(launched.LaunchesPerStep, hosted.LaunchesPerStep);
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Only_the_cpu_accelerator_runs_kernels_on_the_host(string backend)
    {
        var dev = Backends.Get(backend);
        bool was = dev.HostKernels;
        try
        {
            dev.HostKernels = true;
            Assert.Equal(backend == "cpu", dev.HostKernels);
        }
        finally { dev.HostKernels = was; }
    }
}

using GpuCnn.Devices;
using GpuCnn.Models;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>
/// Seeded training with the host overrides on gives the bits of training with them off (every chunked kernel as
/// its ILGPU body), with the same launches; and the overrides are registered once each.
/// </summary>
public class HostOverrideTrainingTests
{
    [SkippableTheory]
    [InlineData("lenet5", 28, 1, 4)]
    [InlineData("resnet18", 16, 3, 2)] // BatchNorm, Add, global pooling, strided and 1×1 convolutions
    public void Overrides_train_bit_identical_to_the_kernel_bodies(string model, int size, int channels, int batch)
    {
        using var dev = Backends.Private("cpu");
        Skip.IfNot(dev.HostKernels, "GPUCNN_CPU_HOST_KERNELS=0: no host paths to compare");
        dev.HostOverrides = false;
        var bodies = FusionCheck.Train(dev, ModelZoo.Create(model, 10, size, channels), batch, true, 2);
        dev.HostOverrides = true;
        var overridden = FusionCheck.Train(dev, ModelZoo.Create(model, 10, size, channels), batch, true, 2);
        Assert.Equal(bodies.Losses, overridden.Losses);
        for (int i = 0; i < bodies.Grads.Length; i++) Assert.Equal(bodies.Grads[i], overridden.Grads[i]);
        Assert.Equal(bodies.LaunchesPerStep, overridden.LaunchesPerStep);
    }

    [Fact]
    public void The_element_wise_families_register_their_overrides()
    {
        using var dev = Backends.Private("cpu");
        Assert.True(dev.LoadKernel<Kernels.Elementwise.UnaryBackwardArgs<Kernels.Elementwise.ReluOp>>(Kernels.Elementwise.ElementwiseKernels.UnaryBackward).HasHostOverride);
        Assert.True(dev.LoadKernel<Kernels.Optim.SgdArgs>(Kernels.Optim.OptimKernels.Sgd).HasHostOverride);
        Assert.True(HostOverrides.Count >= 30);
    }
}

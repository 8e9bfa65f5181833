using System.Diagnostics;
using GpuCnn.Data;
using GpuCnn.Models;
using GpuCnn.Training;
using Xunit;

namespace GpuCnn.Tests.Resilience;

/// <summary>Long training keeps memory flat: nothing per step accumulates on the host or (the CPU accelerator's) device.</summary>
public class SteadyStateTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>
    /// 2,000 LeNet-5 steps (batch 16) on the CPU accelerator, where device memory is host memory: between step 200 and
    /// step 2,000 the managed heap grows by under 8 MiB and the process's resident set by under 64 MiB.
    /// </summary>
    [SkippableFact, Trait("Category", "Long")]
    public void TwoThousandLeNetStepsKeepMemoryFlat()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1",
            "long run (about a minute on 2 cores): set GPUCNN_LONG_TESTS=1 to include it");
        var (train, _) = Mnist.LoadBundled();
        using var device = Devices.DeviceManager.Open("cpu");
        var opts = new TrainOptions { Epochs = 100, BatchSize = 16, Seed = 4, MaxSteps = 2000, LrStepEpochs = 0 };
        using var trainer = new Trainer(LeNet5.Build(), device, opts);
        (long Heap, long Resident)? at200 = null;
        (long, long) Sample()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var self = Process.GetCurrentProcess();
            return (GC.GetTotalMemory(forceFullCollection: true), self.WorkingSet64);
        }
        var progress = new Probe(p => { if (trainer.TotalSteps == 200 && at200 is null) at200 = Sample(); });
        trainer.ProgressInterval = 25;
        trainer.Fit(train.Subset(0, 4000), null, progress);
        Assert.Equal(2000, trainer.TotalSteps);
        var (heap, resident) = Sample();
        Assert.NotNull(at200);
        output.WriteLine($"step 200 -> 2000: heap {at200.Value.Heap >> 10} -> {heap >> 10} KiB, resident {at200.Value.Resident >> 20} -> {resident >> 20} MiB");
        Assert.True(heap - at200.Value.Heap < 8L << 20, $"managed heap grew {(heap - at200.Value.Heap) >> 10} KiB");
        Assert.True(resident - at200.Value.Resident < 64L << 20, $"resident set grew {(resident - at200.Value.Resident) >> 20} MiB");
    }

    sealed class Probe(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}

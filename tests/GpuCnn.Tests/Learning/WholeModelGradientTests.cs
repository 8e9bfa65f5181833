using GpuCnn.Models;
using GpuCnn.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace GpuCnn.Tests.Learning;

/// <summary>
/// The paper's AlexNet as a whole, at its own initialisation and with the real loss: every parameter tensor's gradient
/// against the double-precision reference of the whole graph (<see cref="WholeModelGradient"/>). This is the test
/// that rules a defect in or out when the network does not learn.
/// </summary>
public class WholeModelGradientTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Inits() => Backends.Crossed("paper", "default");

    [SkippableTheory, MemberData(nameof(Inits)), Trait("Category", "Long")]
    public void AlexNet_two_tower_at_63_pixels(string backend, string init)
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1",
            "long run (minutes per case on 2 shared cores: some 360 double-precision passes over the nodes after the perturbed layer): set GPUCNN_LONG_TESTS=1 to include it");
        var dev = Backends.Get(backend);
        foreach (var line in WholeModelGradient.Check(dev, ModelZoo.Create("alexnet-2tower", 10, 63, 3, init), batch: 2))
            output.WriteLine(line);
    }

    [SkippableFact, Trait("Category", "Long")]
    public void AlexNet_two_tower_at_224_pixels()
    {
        Skip.IfNot(Environment.GetEnvironmentVariable("GPUCNN_LONG_TESTS") == "1",
            "long run (21 minutes on 2 cores shared with other work): set GPUCNN_LONG_TESTS=1 to include it");
        foreach (var line in WholeModelGradient.Check(Backends.Get("cpu"), ModelZoo.Create("alexnet-2tower", 1000, 224, 3, "paper"), batch: 1, entries: 1))
            output.WriteLine(line);
    }
}

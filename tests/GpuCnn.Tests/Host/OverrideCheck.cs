using GpuCnn.Devices;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>Device buffers of one <see cref="OverrideCheck"/> run, by index in the order they were given.</summary>
public sealed class OverrideBuffers
{
    internal readonly List<MemoryBuffer1D<float, Stride1D.Dense>> Floats = new();
    internal readonly List<MemoryBuffer1D<int, Stride1D.Dense>> Ints = new();
    internal readonly List<MemoryBuffer1D<double, Stride1D.Dense>> Doubles = new();

    /// <summary>Float buffer <paramref name="i"/>.</summary>
    public ArrayView<float> F(int i) => Floats[i].View;
    /// <summary>Int buffer <paramref name="i"/>.</summary>
    public ArrayView<int> I(int i) => Ints[i].View;
    /// <summary>Double buffer <paramref name="i"/>.</summary>
    public ArrayView<double> D(int i) => Doubles[i].View;
}

/// <summary>
/// The check every host override passes: the same launch, from the same buffers, once with the device's host
/// overrides off (the ILGPU body as host loops) and once on, must leave every buffer bit-identical.
/// </summary>
public static partial class OverrideCheck
{
    /// <summary>The CPU accelerator that override tests toggle (private: other test classes must not see the switch).</summary>
    public static ComputeDevice Device(string backend)
    {
        Skip.If(backend != "cpu", $"host overrides replace kernel bodies on the CPU accelerator only, not on {backend}");
        return Shared.Value;
    }

    static readonly Lazy<ComputeDevice> Shared = new(() => Backends.Private("cpu"));
    static readonly object Gate = new();

    /// <summary>
    /// Runs <paramref name="launch"/> both ways from copies of <paramref name="floats"/>, <paramref name="ints"/> and
    /// <paramref name="doubles"/> and asserts that <paramref name="kernel"/> has an override and all buffers end equal bit for bit.
    /// </summary>
    public static void BitEqual<TArgs>(ComputeDevice dev, Kernel<TArgs> kernel, float[][] floats, Action<OverrideBuffers> launch,
        int[][]? ints = null, double[][]? doubles = null) where TArgs : struct
    {
        Assert.True(kernel.HasHostOverride, $"{typeof(TArgs).Name}: no host override registered");
        lock (Gate) // one toggle at a time, should xunit run two of these classes' tests together
        {
            Skip.IfNot(dev.HostKernels, "GPUCNN_CPU_HOST_KERNELS=0: no host paths to compare");
            var off = Run(dev, false, floats, launch, ints, doubles);
            var on = Run(dev, true, floats, launch, ints, doubles);
            for (int i = 0; i < floats.Length; i++)
                Assert.Equal(off.F[i].Select(BitConverter.SingleToInt32Bits), on.F[i].Select(BitConverter.SingleToInt32Bits));
            for (int i = 0; i < off.I.Length; i++) Assert.Equal(off.I[i], on.I[i]);
            for (int i = 0; i < off.D.Length; i++)
                Assert.Equal(off.D[i].Select(BitConverter.DoubleToInt64Bits), on.D[i].Select(BitConverter.DoubleToInt64Bits));
        }
    }

    static (float[][] F, int[][] I, double[][] D) Run(ComputeDevice dev, bool overrides, float[][] floats, Action<OverrideBuffers> launch,
        int[][]? ints, double[][]? doubles)
    {
        var b = new OverrideBuffers();
        bool was = dev.HostOverrides;
        try
        {
            dev.HostOverrides = overrides;
            foreach (var a in floats) { var m = dev.Allocate<float>(a.Length); m.View.SubView(0, a.Length).CopyFromCPU(dev.Stream, a); b.Floats.Add(m); }
            foreach (var a in ints ?? []) { var m = dev.Allocate<int>(a.Length); m.View.SubView(0, a.Length).CopyFromCPU(dev.Stream, a); b.Ints.Add(m); }
            foreach (var a in doubles ?? []) { var m = dev.Allocate<double>(a.Length); m.View.SubView(0, a.Length).CopyFromCPU(dev.Stream, a); b.Doubles.Add(m); }
            launch(b);
            dev.Synchronize();
            return (b.Floats.Select((m, i) => Read<float>(dev, m.View, floats[i].Length)).ToArray(),
                b.Ints.Select((m, i) => Read<int>(dev, m.View, ints![i].Length)).ToArray(),
                b.Doubles.Select((m, i) => Read<double>(dev, m.View, doubles![i].Length)).ToArray());
        }
        finally
        {
            dev.HostOverrides = was;
            foreach (var m in b.Floats) m.Dispose();
            foreach (var m in b.Ints) m.Dispose();
            foreach (var m in b.Doubles) m.Dispose();
        }
    }

    static T[] Read<T>(ComputeDevice dev, ArrayView<T> v, int length) where T : unmanaged
    {
        var a = new T[length];
        if (length > 0) v.SubView(0, length).CopyToCPU(dev.Stream, a);
        return a;
    }

    /// <summary>
    /// Seeded values in [−scale, scale] with the awkward ones the selects and products must treat as the body does:
    /// ±0, NaN, ±∞, subnormals and exact ties at 0, sprinkled when <paramref name="specials"/>.
    /// </summary>
    public static float[] Values(int seed, int n, float scale = 2f, bool specials = true)
    {
        var rng = new Random(seed);
        var a = new float[n];
        float[] odd = [0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-40f, -1e-40f, float.Epsilon];
        for (int i = 0; i < n; i++)
            a[i] = specials && rng.Next(16) == 0 ? odd[rng.Next(odd.Length)] : (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    /// <summary>Launch sizes: one element, under a vector, a vector's tail, and over several grains (the pool path).</summary>
    public static readonly int[] Sizes = [1, 7, 4099, 70_001];
}

using GpuCnn.Devices;
using GpuCnn.Tests.Infrastructure;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>The host-override tests share one device and switch its overrides, so they are one collection (never run in parallel).</summary>
[CollectionDefinition(Name)]
public sealed class HostOverrideCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "host overrides";
}

/// <summary>
/// The one-output form of <see cref="OverrideCheck"/>: a launch that writes one buffer from read-only inputs, run
/// through its ILGPU body (host overrides off) and through its host override from the same inputs and the same
/// initial output; the first differing element is named.
/// </summary>
public static partial class OverrideCheck
{
    /// <summary>Seeded values in [−2, 2); with <paramref name="coarse"/> on a grid of quarters (ties), with some −0.</summary>
    public static float[] Random(int n, int seed, bool coarse = false)
    {
        var r = new System.Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            float f = (float)(r.NextDouble() * 4 - 2);
            v[i] = coarse ? MathF.Round(f * 4) / 4 : f;
            if (r.Next(23) == 0) v[i] = -0f;
        }
        return v;
    }

    /// <summary>
    /// Launches <paramref name="body"/> over <paramref name="n"/> elements both ways; <paramref name="args"/> builds the
    /// arguments from the input buffers and the output buffer, which starts as <paramref name="initialOutput"/>.
    /// Returns the output.
    /// </summary>
    public static float[] Same<TArgs>(ComputeDevice dev, Action<Index1D, int, int, TArgs> body, int n, float[][] inputs,
        float[] initialOutput, Func<ArrayView<float>[], ArrayView<float>, TArgs> args, string what) where TArgs : struct
    {
        Skip.IfNot(dev.HostKernels, "GPUCNN_CPU_HOST_KERNELS=0: no host paths to compare");
        var kernel = dev.LoadKernel(body);
        Assert.True(kernel.HasHostOverride, $"{what}: {body.Method.Name} has no host override");
        lock (Gate)
        {
            bool was = dev.HostOverrides;
            var bufs = inputs.Select(a => dev.Accelerator.Allocate1D(a)).ToArray();
            using var output = dev.Accelerator.Allocate1D(initialOutput);
            try
            {
                var views = bufs.Select(b => (ArrayView<float>)b.View).ToArray();
                float[] Run(bool overrides)
                {
                    dev.HostOverrides = overrides;
                    output.View.CopyFromCPU(initialOutput);
                    dev.Synchronize();
                    kernel.Launch(n, args(views, output.View));
                    dev.Synchronize();
                    return output.GetAsArray1D();
                }
                var body0 = Run(false);
                var host = Run(true);
                for (int i = 0; i < body0.Length; i++)
                    if (BitConverter.SingleToInt32Bits(body0[i]) != BitConverter.SingleToInt32Bits(host[i]))
                        Assert.Fail($"{what}: element {i} of {body0.Length} is {host[i]:R} on the host override, {body0[i]:R} in the kernel body");
                return host;
            }
            finally
            {
                dev.HostOverrides = was;
                foreach (var b in bufs) b.Dispose();
            }
        }
    }
}

using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>The activations' host overrides give their ILGPU bodies' bits, forward and backward, in place and not.</summary>
public class HostActivationOverrideTests
{
    public static TheoryData<string, string> Ops => Backends.Crossed("relu", "leaky", "elu", "tanh", "sigmoid");

    [SkippableTheory, MemberData(nameof(Ops))]
    public void Activation_overrides_match_the_kernel_bodies(string backend, string op)
    {
        var dev = OverrideCheck.Device(backend);
        switch (op)
        {
            case "relu": Check(dev, new ReluOp()); break;
            case "leaky": Check(dev, new LeakyReluOp { Slope = 0.07f }); break;
            case "elu": Check(dev, new EluOp { Alpha = 0.7f }); break;
            case "tanh": Check(dev, new TanhOp()); break;
            default: Check(dev, new SigmoidOp()); break;
        }
    }

    static void Check<TOp>(Devices.ComputeDevice dev, TOp op) where TOp : struct, IUnaryOp
    {
        var fwd = dev.LoadKernel<UnaryForwardArgs<TOp>>(ElementwiseKernels.UnaryForward);
        var bwd = dev.LoadKernel<UnaryBackwardArgs<TOp>>(ElementwiseKernels.UnaryBackward);
        foreach (int n in OverrideCheck.Sizes)
        {
            float[] x = OverrideCheck.Values(n, n), y = OverrideCheck.Values(n + 1, n), dy = OverrideCheck.Values(n + 2, n), dx = OverrideCheck.Values(n + 3, n);
            OverrideCheck.BitEqual(dev, fwd, [x, y], b => fwd.Launch(n, new() { Op = op, X = b.F(0), Y = b.F(1) }));
            foreach (float beta in new[] { 0f, 1f, 0.5f })
            {
                // Separate buffers; then the fused in-place form (x is y, dx is dy).
                OverrideCheck.BitEqual(dev, bwd, [x, y, dy, dx],
                    b => bwd.Launch(n, new() { Op = op, X = b.F(0), Y = b.F(1), Dy = b.F(2), Dx = b.F(3), Beta = beta }));
                OverrideCheck.BitEqual(dev, bwd, [y, dy],
                    b => bwd.Launch(n, new() { Op = op, X = b.F(0), Y = b.F(0), Dy = b.F(1), Dx = b.F(1), Beta = beta }));
            }
        }
    }
}

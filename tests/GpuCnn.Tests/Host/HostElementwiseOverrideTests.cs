using GpuCnn.Kernels.Elementwise;
using GpuCnn.Kernels.Optim;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests.Host;

/// <summary>The element-wise, concatenation, dropout and clipping overrides give their ILGPU bodies' bits.</summary>
public class HostElementwiseOverrideTests
{
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Fill_axpby_and_product_overrides_match_the_kernel_bodies(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var fill = dev.LoadKernel<FillArgs>(ElementwiseKernels.Fill);
        var axpby = dev.LoadKernel<AxpbyArgs>(ElementwiseKernels.Axpby);
        var fwd = dev.LoadKernel<ProductArgs>(ProductKernels.Forward);
        var bwd = dev.LoadKernel<ProductArgs>(ProductKernels.Backward);
        foreach (int n in OverrideCheck.Sizes)
        {
            float[] x = OverrideCheck.Values(n, n), y = OverrideCheck.Values(n + 1, n), z = OverrideCheck.Values(n + 2, n);
            OverrideCheck.BitEqual(dev, fill, [y], b => fill.Launch(n, new() { Y = b.F(0), Value = -0.375f }));
            foreach (var (alpha, beta) in new[] { (1f, 0f), (0.3f, 1f), (-2f, 0.9f) })
            {
                OverrideCheck.BitEqual(dev, axpby, [x, y], b => axpby.Launch(n, new() { X = b.F(0), Y = b.F(1), Alpha = alpha, Beta = beta }));
                OverrideCheck.BitEqual(dev, bwd, [x, y, z], b => bwd.Launch(n, new() { A = b.F(0), B = b.F(1), Y = b.F(2), Beta = beta }));
            }
            OverrideCheck.BitEqual(dev, fwd, [x, y, z], b => fwd.Launch(n, new() { A = b.F(0), B = b.F(1), Y = b.F(2) }));
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void CopyChannels_override_matches_the_kernel_body(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var k = dev.LoadKernel<CopyChannelsArgs>(TensorKernels.CopyChannels);
        foreach (var (batch, plane, srcC, dstC, count, so, dO) in new[] { (3, 13, 5, 9, 3, 1, 4), (2, 1, 4, 6, 4, 0, 2), (4, 37, 2, 7, 2, 0, 5) })
        {
            var s = new ChannelSlice { Plane = plane, Count = count, SrcChannels = srcC, DstChannels = dstC, SrcOffset = so, DstOffset = dO }.Prepare();
            float[] src = OverrideCheck.Values(plane, batch * srcC * plane), dst = OverrideCheck.Values(plane + 1, batch * dstC * plane);
            foreach (float beta in new[] { 0f, 1f })
                OverrideCheck.BitEqual(dev, k, [src, dst], b => k.Launch(batch * count * plane, new() { Slice = s, Src = b.F(0), Dst = b.F(1), Beta = beta }));
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Dropout_overrides_match_the_kernel_bodies(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var fwd = dev.LoadKernel<DropoutForwardArgs>(DropoutKernels.Forward);
        var bwd = dev.LoadKernel<DropoutBackwardArgs>(DropoutKernels.Backward);
        foreach (int n in OverrideCheck.Sizes)
        {
            float[] x = OverrideCheck.Values(n, n), y = OverrideCheck.Values(n + 1, n);
            OverrideCheck.BitEqual(dev, fwd, [x, y], b => fwd.Launch(n, new() { X = b.F(0), Y = b.F(1), Key = 0x1234_5678_9abcUL, Step = 3, Offset = 17, P = 0.3f, Scale = 1f / 0.7f }));
            foreach (float beta in new[] { 0f, 1f })
                OverrideCheck.BitEqual(dev, bwd, [x, y], b => bwd.Launch(n, new() { Dy = b.F(0), Dx = b.F(1), Key = 99, Step = 5, Offset = 0, P = 0.5f, Scale = 2f, Beta = beta }));
        }
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Clipping_overrides_match_the_kernel_bodies(string backend)
    {
        var dev = OverrideCheck.Device(backend);
        var sum = dev.LoadKernel<SumSquaresArgs>(ClipKernels.SumSquares);
        var scale = dev.LoadKernel<ScaleByArgs>(ClipKernels.ScaleBy);
        foreach (int n in OverrideCheck.Sizes)
            foreach (int slots in new[] { 1, 13, 256 })
            {
                float[] g = OverrideCheck.Values(n, n, 1f, false), part = new float[slots];
                OverrideCheck.BitEqual(dev, sum, [g, part], b => sum.Launch(slots, new() { G = b.F(0), Length = n, Partials = b.F(1) }));
                OverrideCheck.BitEqual(dev, scale, [g, [3f, 0.37f]], b => scale.Launch(n, new() { G = b.F(0), NormAndFactor = b.F(1) }));
            }
    }
}

using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="GemmFamily.Direct"/>: one output per loop iteration, <see cref="GemmKernels.Gemm"/> for dense products
/// and the <see cref="ConvKernels"/> (their pointwise forms for 1×1 convolutions) for convolutions.
/// </summary>
internal sealed class DirectFamily : IGemmFamily
{
    readonly ComputeDevice device;
    Kernel<GemmArgs>? gemm;
    Kernel<ConvForwardArgs>? forward, pointwiseForward;
    Kernel<ConvDataGradArgs>? dataGrad, pointwiseDataGrad;
    Kernel<ConvFilterGradArgs>? filterGrad, pointwiseFilterGrad;

    internal DirectFamily(ComputeDevice device) => this.device = device;

    /// <inheritdoc/>
    public GemmFamily Id => GemmFamily.Direct;

    /// <inheritdoc/>
    public bool Supports(in GemmProduct product) => true;

    /// <summary>The dense kernel (also the cuBLAS stand-in's).</summary>
    internal Kernel<GemmArgs> Gemm => gemm ??= device.LoadKernel<GemmArgs>(GemmKernels.Gemm);

    /// <inheritdoc/>
    public void Run(in GemmProduct product, in GemmOperands o)
    {
        var p = product.Conv;
        bool pw = product.Pointwise;
        switch (product.Operation)
        {
            case GemmOperation.ConvForward:
            {
                var k = pw ? (pointwiseForward ??= device.LoadKernel<ConvForwardArgs>(ConvKernels.PointwiseForward))
                    : (forward ??= device.LoadKernel<ConvForwardArgs>(ConvKernels.Forward));
                bool bias = product.HasBias;
                k.Launch(p.N * p.K * p.OH * p.OW, new()
                {
                    P = p, X = o.B, W = o.A, Bias = bias ? o.Bias : default, BiasMode = bias ? BiasMode.PerRow : BiasMode.None,
                    Activation = product.AppliedActivation, Y = o.C,
                });
                break;
            }
            case GemmOperation.ConvDataGrad:
            {
                var k = pw ? (pointwiseDataGrad ??= device.LoadKernel<ConvDataGradArgs>(ConvKernels.PointwiseBackwardData))
                    : (dataGrad ??= device.LoadKernel<ConvDataGradArgs>(ConvKernels.BackwardData));
                k.Launch(p.N * p.C * p.H * p.W, new() { P = p, Dy = o.B, W = o.A, Dx = o.C, Beta = product.Beta });
                break;
            }
            case GemmOperation.ConvFilterGrad:
            {
                var k = pw ? (pointwiseFilterGrad ??= device.LoadKernel<ConvFilterGradArgs>(ConvKernels.PointwiseBackwardFilter))
                    : (filterGrad ??= device.LoadKernel<ConvFilterGradArgs>(ConvKernels.BackwardFilter));
                k.Launch(p.K * p.Cg * p.KH * p.KW, new() { P = p, X = o.B, Dy = o.A, Dw = o.C, Beta = product.Beta });
                break;
            }
            default:
            {
                bool bias = product.HasBias;
                Gemm.Launch(product.M * product.N, new()
                {
                    P = product.DenseParams, A = o.A, B = o.B, Bias = bias ? o.Bias : default,
                    BiasMode = bias ? BiasMode.PerColumn : BiasMode.None, Activation = product.AppliedActivation, C = o.C,
                });
                break;
            }
        }
    }
}

using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="GemmFamily.Tile64"/> or <see cref="GemmFamily.Tile128"/>: the shared-memory <see cref="TiledGemmKernels"/>,
/// reading dense matrices through <see cref="DenseA"/>/<see cref="DenseB"/>/<see cref="DenseC"/> and convolutions as
/// implicit GEMMs (<see cref="ConvImageB"/> and the other convolution operands), the filter gradient split along its long reduction when the
/// tiles alone are too few for the device.
/// </summary>
internal sealed class TiledFamily : IGemmFamily
{
    readonly ComputeDevice device;
    readonly GemmEngine engine;
    Kernel<ReduceSplitsArgs>? reduce;

    internal TiledFamily(ComputeDevice device, GemmEngine engine, GemmFamily id)
    {
        this.device = device;
        this.engine = engine;
        Id = id;
        Tile = id == GemmFamily.Tile64 ? 64 : 128;
    }

    /// <inheritdoc/>
    public GemmFamily Id { get; }

    /// <summary>Rows and columns of C per group.</summary>
    public int Tile { get; }

    /// <inheritdoc/>
    public bool Supports(in GemmProduct product) => engine.CanRunTiled;

    /// <inheritdoc/>
    public void Run(in GemmProduct product, in GemmOperands o)
    {
        var p = product.Conv;
        int taps = p.KH * p.KW;
        float beta = product.Beta;
        switch (product.Operation)
        {
            case GemmOperation.ConvForward:
            {
                bool bias = product.HasBias;
                Launch(new DenseA { V = o.A, Ld = p.Cg * taps, BatchStride = p.Kg * p.Cg * taps },
                    new ConvImageB { X = o.B, P = p },
                    new ConvOutputC
                    {
                        Y = o.C, Bias = bias ? o.Bias : default, P = p, BiasMode = bias ? BiasMode.PerRow : BiasMode.None,
                        Activation = product.AppliedActivation,
                    },
                    GemmEngine.Shape(p.Kg, p.N * p.OH * p.OW, p.Cg * taps, p.G));
                break;
            }
            case GemmOperation.ConvDataGrad:
                Launch(new ConvDataWeightA { W = o.A, P = p }, new ConvDataGradB { Dy = o.B, P = p },
                    new ConvDataGradC { Dx = o.C, P = p, Beta = beta },
                    GemmEngine.Shape(p.Cg, p.N * p.H * p.W, p.Kg * taps, p.G));
                break;
            case GemmOperation.ConvFilterGrad:
            {
                int m = p.Kg, n = p.Cg * taps, k = p.N * p.OH * p.OW;
                int splits = engine.SplitsFor(Id, m, n, k, p.G);
                var A = new ConvFilterGradA { Dy = o.A, P = p };
                var B = new ConvFilterImageB { X = o.B, P = p };
                var shape = GemmEngine.Shape(m, n, k, p.G, splits);
                if (splits == 1)
                {
                    Launch(A, B, new DenseC { V = o.C, Ld = n, BatchStride = m * n, Alpha = 1, Beta = beta }, shape);
                    break;
                }
                // Split-K: partial sums per slice, then a deterministic reduction (no atomics).
                var partial = device.Rent((long)splits * p.G * m * n);
                Launch(A, B, new PartialC { V = partial.View, M = m, N = n, Batches = p.G }, shape);
                reduce ??= device.LoadKernel<ReduceSplitsArgs>(TiledGemmKernels.ReduceSplits);
                reduce.Launch(p.G * m * n, new() { Shape = shape, Partial = partial.View, Dst = o.C, Ld = n, DstBatchStride = m * n, Beta = beta });
                device.Return(partial);
                break;
            }
            default:
            {
                bool bias = product.HasBias;
                Launch(new DenseA { V = o.A, Ld = product.Lda, Trans = product.TransA ? 1 : 0 },
                    new DenseB { V = o.B, Ld = product.Ldb, Trans = product.TransB ? 1 : 0 },
                    new DenseC
                    {
                        V = o.C, Bias = bias ? o.Bias : default, Ld = product.Ldc, BiasMode = bias ? BiasMode.PerColumn : BiasMode.None,
                        Activation = product.AppliedActivation, Alpha = 1, Beta = beta,
                    },
                    GemmEngine.Shape(product.M, product.N, product.K));
                break;
            }
        }
    }

    /// <summary>Launches this family's kernel for C[b] = A[b]·B[b] over <paramref name="shape"/>.</summary>
    public void Launch<TA, TB, TC>(TA a, TB b, TC c, GemmShape shape)
        where TA : struct, IGemmA where TB : struct, IGemmB where TC : struct, IGemmC
    {
        if (shape.M <= 0 || shape.N <= 0) return;
        var k = device.LoadGroupedKernel(Tile == 64 ? Kernels<TA, TB, TC>.Tile64 : Kernels<TA, TB, TC>.Tile128);
        var grid = new Index3D((shape.N + Tile - 1) / Tile, (shape.M + Tile - 1) / Tile, shape.Batches * shape.Splits);
        k.Launch(new KernelConfig(grid, new Index3D(TiledGemmKernels.GroupSize, 1, 1)),
            new TiledGemmArgs<TA, TB, TC> { A = a, B = b, C = c, Shape = shape });
    }

    // One delegate per instantiation, so a launch allocates nothing.
    static class Kernels<TA, TB, TC> where TA : struct, IGemmA where TB : struct, IGemmB where TC : struct, IGemmC
    {
        public static readonly Action<TiledGemmArgs<TA, TB, TC>> Tile64 = TiledGemmKernels.Tile64;
        public static readonly Action<TiledGemmArgs<TA, TB, TC>> Tile128 = TiledGemmKernels.Tile128;
    }
}

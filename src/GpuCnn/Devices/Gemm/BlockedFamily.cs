using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using ILGPU;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="GemmFamily.Blocked"/>: the register-blocked GEMM (<see cref="BlockedGemmKernels"/>) reads weights,
/// activations and gradients in place through strides, images being segments of the GEMM's columns or reduction, so
/// only the im2col matrix is materialised, for a chunk of images at a time (<see cref="GemmProduct.ColumnBudget"/>).
/// A 1×1 convolution needs no lowering at all. With rows = C/G·KH·KW, P = OH·OW and per group g: forward
/// y = W·col (+ bias per row); data gradient colGrad = Wᵀ·dy, then col2im; filter gradient dW = dy·colᵀ,
/// accumulated over the chunks.
/// </summary>
internal class BlockedFamily : IGemmFamily
{
    protected readonly ComputeDevice device;
    Kernel<BlockedGemmArgs>? blocked, blockedTall;
    Kernel<Im2ColArgs>? im2colRows;
    Kernel<Col2ImArgs>? col2im;

    internal BlockedFamily(ComputeDevice device) => this.device = device;

    /// <inheritdoc/>
    public virtual GemmFamily Id => GemmFamily.Blocked;

    /// <inheritdoc/>
    public virtual bool Supports(in GemmProduct product) => true;

    /// <summary>
    /// Launches <see cref="BlockedGemmKernels.Gemm16x8"/> or <see cref="BlockedGemmKernels.Gemm4x8"/> for prepared
    /// parameters, as <see cref="BlockedGemmParams.TileRows"/> says.
    /// </summary>
    public void Launch(in BlockedGemmArgs args)
    {
        var p = args.P;
        if (p.M <= 0 || p.N <= 0) return;
        if (p.TileRows == BlockedGemmKernels.TallTileM)
            (blockedTall ??= device.LoadKernel<BlockedGemmArgs>(BlockedGemmKernels.Gemm16x8)).Launch(p.Tiles, args);
        else if (p.TileRows == BlockedGemmKernels.TileM)
            (blocked ??= device.LoadKernel<BlockedGemmArgs>(BlockedGemmKernels.Gemm4x8)).Launch(p.Tiles, args);
        else throw new ArgumentException("blocked GEMM parameters must come from BlockedGemmParams.Prepare", nameof(args));
    }

    /// <summary>Computes one strided product of the decomposition; the SIMD family computes it on the host instead.</summary>
    protected virtual void Gemm(in BlockedGemmArgs args) => Launch(args);

    /// <inheritdoc/>
    public void Run(in GemmProduct product, in GemmOperands o)
    {
        if (product.IsConv)
        {
            RunConv(product, o);
            return;
        }
        bool bias = product.HasBias;
        var q = new BlockedGemmParams
        {
            M = product.M, N = product.N, K = product.K, G = 1,
            AStepM = product.TransA ? 1 : product.Lda, AStepK = product.TransA ? product.Lda : 1,
            BStepK = product.TransB ? 1 : product.Ldb, BStepN = product.TransB ? product.Ldb : 1,
            CStepM = product.Ldc, Alpha = 1, Beta = product.Beta,
            BiasMode = bias ? BiasMode.PerColumn : BiasMode.None, Activation = product.AppliedActivation,
        };
        Gemm(new BlockedGemmArgs { P = q.Prepare(), A = o.A, B = o.B, Bias = bias ? o.Bias : default, C = o.C });
    }

    void RunConv(in GemmProduct product, in GemmOperands o)
    {
        var op = product.Operation;
        var p = product.Conv;
        float beta = product.Beta;
        int plane = p.OH * p.OW, rows = p.Cg * p.KH * p.KW, kg = p.Kg, cg = p.Cg;
        int inImage = p.C * p.H * p.W, outImage = p.K * plane;
        bool pointwise = product.Pointwise; // then rows = C/G and P = H·W
        long perImage = (long)p.G * rows * plane;
        int chunk = pointwise ? p.N : (int)Math.Clamp(product.ColumnBudget / perImage, 1, p.N);
        if (!pointwise && perImage * chunk > int.MaxValue)
            throw new InvalidOperationException($"{product.Owner}: the im2col matrix of one image ({perImage:N0} values) exceeds one buffer; use --gemm direct");
        var col = pointwise ? null : device.Rent(perImage * chunk);
        try
        {
            for (int img0 = 0; img0 < p.N; img0 += chunk)
            {
                int count = Math.Min(chunk, p.N - img0), np = count * plane;
                var pc = count == p.N ? p : (p with { N = count }).Prepare();
                // This chunk's images of x (dx for the data gradient) and of y (dy for the gradients).
                var x = (op == GemmOperation.ConvDataGrad ? o.C : o.B).SubView((long)img0 * inImage, (long)count * inImage);
                var y = (op == GemmOperation.ConvForward ? o.C : op == GemmOperation.ConvDataGrad ? o.B : o.A)
                    .SubView((long)img0 * outImage, (long)count * outImage);
                ArrayView<float> lowered = pointwise ? x : col!.View;
                if (!pointwise && op != GemmOperation.ConvDataGrad)
                    (im2colRows ??= device.LoadKernel<Im2ColArgs>(LoweringKernels.Im2ColRows))
                        .Launch(p.G * rows * count * p.OH, new() { P = pc, X = x, Col = col!.View });
                switch (op)
                {
                    case GemmOperation.ConvForward: // A = W[g] (kg × rows); B = col[g] or x; C = y, an image per column segment
                    {
                        bool bias = product.HasBias;
                        var q = new BlockedGemmParams
                        {
                            M = kg, N = np, K = rows, G = p.G, AStepM = rows, AStepK = 1, AStrideG = kg * rows,
                            CStepM = plane, CSegN = outImage, CStrideG = kg * plane, Alpha = 1,
                            BiasMode = bias ? BiasMode.PerRow : BiasMode.None, Activation = product.AppliedActivation,
                        };
                        if (pointwise) (q.BStepK, q.BStepN, q.BSegN, q.BStrideG) = (plane, 1, inImage, cg * plane);
                        else (q.BStepK, q.BStepN, q.BSegN, q.BStrideG) = (np, 1, plane, rows * np);
                        Gemm(new BlockedGemmArgs { P = q.Prepare(plane), A = o.A, B = lowered, Bias = bias ? o.Bias : default, C = y });
                        break;
                    }
                    case GemmOperation.ConvDataGrad: // A = W[g]ᵀ (rows × kg); B = dy, an image per column segment; C = colGrad or dx
                    {
                        var q = new BlockedGemmParams
                        {
                            M = rows, N = np, K = kg, G = p.G, AStepM = 1, AStepK = rows, AStrideG = kg * rows,
                            BStepK = plane, BStepN = 1, BSegN = outImage, BStrideG = kg * plane, Alpha = 1,
                        };
                        if (pointwise) (q.CStepM, q.CSegN, q.CStrideG, q.Beta) = (plane, inImage, cg * plane, beta);
                        else (q.CStepM, q.CSegN, q.CStrideG) = (np, plane, rows * np);
                        Gemm(new BlockedGemmArgs { P = q.Prepare(plane), A = o.A, B = y, C = lowered });
                        if (!pointwise)
                            (col2im ??= device.LoadKernel<Col2ImArgs>(LoweringKernels.Col2Im))
                                .Launch(count * inImage, new() { P = pc, ColGrad = col!.View, Dx = x, Beta = beta });
                        break;
                    }
                    case GemmOperation.ConvFilterGrad: // A = dy (kg × np, an image per k segment); B = colᵀ or xᵀ; C = dW[g], summed over chunks
                    {
                        var q = new BlockedGemmParams
                        {
                            M = kg, N = rows, K = np, G = p.G, KSeg = plane,
                            AStepM = plane, AStepK = 1, ASegK = outImage, AStrideG = kg * plane,
                            CStepM = rows, CStrideG = kg * rows, Alpha = 1, Beta = img0 == 0 ? beta : 1f,
                        };
                        if (pointwise) (q.BStepK, q.BSegK, q.BStepN, q.BStrideG) = (1, inImage, plane, cg * plane);
                        else (q.BStepK, q.BSegK, q.BStepN, q.BStrideG) = (1, plane, np, rows * np);
                        Gemm(new BlockedGemmArgs { P = q.Prepare(), A = y, B = lowered, C = o.C });
                        break;
                    }
                }
            }
        }
        finally
        {
            if (col is not null) device.Return(col);
        }
    }
}

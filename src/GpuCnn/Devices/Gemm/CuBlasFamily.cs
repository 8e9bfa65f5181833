using GpuCnn.Kernels;
using GpuCnn.Kernels.Conv;
using GpuCnn.Kernels.Gemm;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace GpuCnn.Devices;

/// <summary>
/// <see cref="GemmFamily.CuBlas"/>: cuBLAS SGEMM, loaded on first use. Dense products call it directly (then
/// <see cref="GemmKernels.Epilogue"/> for a bias or activation); convolutions go through an explicit im2col lowering
/// of the whole batch into pooled scratch, one SGEMM per group, and layout permutes (see <see cref="LoweringKernels"/>).
/// </summary>
internal sealed class CuBlasFamily : IGemmFamily
{
    readonly ComputeDevice device;
    readonly DirectFamily standIn;
    CuBlas? cublas;
    bool tried, tf32;
    Kernel<EpilogueArgs>? epilogue;
    Kernel<Im2ColArgs>? im2col;
    Kernel<Col2ImArgs>? col2im;
    Kernel<BatchToChannelMajorArgs>? toChannelMajor;
    Kernel<ChannelToBatchMajorArgs>? toBatchMajor;

    internal CuBlasFamily(ComputeDevice device, DirectFamily standIn)
    {
        this.device = device;
        this.standIn = standIn;
    }

    /// <inheritdoc/>
    public GemmFamily Id => GemmFamily.CuBlas;

    /// <inheritdoc/>
    public bool Supports(in GemmProduct product) => Ready();

    /// <summary>See <see cref="GemmEngine.Tf32"/>.</summary>
    public bool Tf32
    {
        get => tf32;
        set { tf32 = value; if (cublas is not null) cublas.MathMode = MathMode; }
    }

    CuBlasMathMode MathMode => tf32 ? (CuBlasMathMode)3 : CuBlasMathMode.DefaultMath; // 3 = CUBLAS_TF32_TENSOR_OP_MATH

    /// <summary>Follows the device to a new stream.</summary>
    public void StreamChanged()
    {
        if (cublas is not null) cublas.Stream = (CudaStream)device.Stream;
    }

    /// <summary>See <see cref="GemmEngine.CuBlasProblem"/>.</summary>
    public string? Problem { get; private set; }

    /// <summary>cuBLAS's version, or 0 when it is not loaded.</summary>
    public int Version => cublas?.Version ?? 0;

    /// <summary>See <see cref="GemmEngine.CuBlasStandIn"/>.</summary>
    public bool StandIn { get; set; }

    /// <summary>True when cuBLAS is loaded (or stood in for); loads it on first use, recording any problem.</summary>
    public bool Ready()
    {
        if (StandIn || cublas is not null) return true;
        if (tried) return false;
        tried = true;
        if (device.Accelerator is not CudaAccelerator cuda)
        {
            Problem = $"cuBLAS needs a CUDA device; {device.Id} is {device.Kind}";
            return false;
        }
        try
        {
            CuBlasLibrary.Register();
            cuda.Bind();
            cublas = new CuBlas(cuda) { Stream = (CudaStream)device.Stream };
            cublas.MathMode = MathMode;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException
                                    or TypeInitializationException or CudaException)
        {
            Problem = $"cuBLAS could not be loaded ({e.GetType().Name}: {e.Message}); using the ILGPU kernels";
            cublas = null;
            return false;
        }
    }

    /// <summary>Row-major C = alpha·op(A)·op(B) + beta·C (see <see cref="GemmEngine.Sgemm"/>).</summary>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        if (m <= 0 || n <= 0) return;
        // cuBLAS is column-major: it computes Cᵀ = op(B)ᵀ·op(A)ᵀ on the same memory.
        ColumnMajorSgemm(transB, transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
    }

    void ColumnMajorSgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        device.CountLaunch();
        if (cublas is not null)
        {
            cublas.Gemm(transA ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
                transB ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        if (!StandIn) throw new InvalidOperationException(Problem ?? "cuBLAS is not loaded");
        // Column-major X with leading dimension ld is row-major Xᵀ: Cᵀ[n,m] = op(B)ᵀ·op(A)ᵀ, row-major.
        var p = new GemmParams
        {
            M = n, N = m, K = k, TransA = transB ? 1 : 0, TransB = transA ? 1 : 0, Lda = ldb, Ldb = lda, Ldc = ldc, Alpha = alpha, Beta = beta,
        };
        standIn.Gemm.Launch(m * n, new GemmArgs { P = p, A = b, B = a, C = c });
    }

    /// <inheritdoc/>
    public void Run(in GemmProduct product, in GemmOperands o)
    {
        if (product.IsConv)
        {
            RunLowered(product, o);
            return;
        }
        Sgemm(product.TransA, product.TransB, product.M, product.N, product.K, 1f, o.A, product.Lda, o.B, product.Ldb, product.Beta, o.C, product.Ldc);
        bool bias = product.HasBias;
        var act = product.AppliedActivation;
        if (bias || act.IsEnabled) // C is dense here (Ldc = N)
            (epilogue ??= device.LoadKernel<EpilogueArgs>(GemmKernels.Epilogue)).Launch(product.M * product.N, new()
            {
                Cols = product.N, Bias = bias ? o.Bias : default, BiasMode = bias ? BiasMode.PerColumn : BiasMode.None, Activation = act, C = o.C,
            });
    }

    Kernel<Im2ColArgs> Im2Col => im2col ??= device.LoadKernel<Im2ColArgs>(LoweringKernels.Im2Col);

    Kernel<BatchToChannelMajorArgs> ToChannelMajor =>
        toChannelMajor ??= device.LoadKernel<BatchToChannelMajorArgs>(LoweringKernels.BatchToChannelMajor);

    void RunLowered(in GemmProduct product, in GemmOperands o)
    {
        var p = product.Conv;
        int plane = p.OH * p.OW, np = p.N * plane, rows = p.Cg * p.KH * p.KW, kg = p.Kg;
        long colLength = (long)p.G * rows * np;
        if (colLength > int.MaxValue)
            throw new InvalidOperationException($"{product.Owner}: the im2col matrix of {colLength:N0} values exceeds one buffer; use a smaller batch or --gemm auto");
        switch (product.Operation)
        {
            case GemmOperation.ConvForward: // A = w, B = x
            {
                var col = device.Rent(colLength);
                var t = device.Rent((long)p.K * np);
                Im2Col.Launch((int)colLength, new() { P = p, X = o.B, Col = col.View });
                for (int g = 0; g < p.G; g++)
                    Sgemm(false, false, kg, np, rows, 1f, o.A.SubView((long)g * kg * rows, (long)kg * rows), rows,
                        col.View.SubView((long)g * rows * np, (long)rows * np), np, 0f, t.View.SubView((long)g * kg * np, (long)kg * np), np);
                bool bias = product.HasBias;
                (toBatchMajor ??= device.LoadKernel<ChannelToBatchMajorArgs>(LoweringKernels.ChannelToBatchMajor)).Launch(p.K * np, new()
                {
                    Batch = p.N, Channels = p.ByK, Plane = p.ByOutPlane, Src = t.View, Dst = o.C, Bias = bias ? o.Bias : default,
                    BiasMode = bias ? BiasMode.PerRow : BiasMode.None, Activation = product.AppliedActivation,
                });
                device.Return(t);
                device.Return(col);
                break;
            }
            case GemmOperation.ConvDataGrad: // A = w, B = dy
            {
                var dyT = device.Rent((long)p.K * np);
                var colGrad = device.Rent(colLength);
                ToChannelMajor.Launch(p.K * np, new() { Batch = p.ByN, Channels = p.K, Plane = p.ByOutPlane, Src = o.B, Dst = dyT.View });
                for (int g = 0; g < p.G; g++)
                    Sgemm(true, false, rows, np, kg, 1f, o.A.SubView((long)g * kg * rows, (long)kg * rows), rows,
                        dyT.View.SubView((long)g * kg * np, (long)kg * np), np, 0f, colGrad.View.SubView((long)g * rows * np, (long)rows * np), np);
                (col2im ??= device.LoadKernel<Col2ImArgs>(LoweringKernels.Col2Im))
                    .Launch(p.N * p.C * p.H * p.W, new() { P = p, ColGrad = colGrad.View, Dx = o.C, Beta = product.Beta });
                device.Return(colGrad);
                device.Return(dyT);
                break;
            }
            case GemmOperation.ConvFilterGrad: // A = dy, B = x
            {
                var col = device.Rent(colLength);
                var dyT = device.Rent((long)p.K * np);
                Im2Col.Launch((int)colLength, new() { P = p, X = o.B, Col = col.View });
                ToChannelMajor.Launch(p.K * np, new() { Batch = p.ByN, Channels = p.K, Plane = p.ByOutPlane, Src = o.A, Dst = dyT.View });
                for (int g = 0; g < p.G; g++)
                    Sgemm(false, true, kg, rows, np, 1f, dyT.View.SubView((long)g * kg * np, (long)kg * np), np,
                        col.View.SubView((long)g * rows * np, (long)rows * np), np, product.Beta, o.C.SubView((long)g * kg * rows, (long)kg * rows), rows);
                device.Return(dyT);
                device.Return(col);
                break;
            }
        }
    }
}

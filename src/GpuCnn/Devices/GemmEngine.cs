using System.Collections.Concurrent;
using System.Diagnostics;
using GpuCnn.Kernels.Gemm;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace GpuCnn.Devices;

/// <summary>Kernel families that can compute a GEMM-shaped layer operation.</summary>
public enum GemmKernel
{
    /// <summary>
    /// Choose per shape by timing each candidate once (GPUs). The CPU accelerator does not time: it takes
    /// <see cref="Blocked"/> for products of at least <see cref="GemmEngine.CpuBlockedMacs"/> multiply-adds and
    /// <see cref="Direct"/> below that, where one launch fewer matters more.
    /// </summary>
    Auto,
    /// <summary>The chunked kernels: one output per loop iteration, no shared memory or barriers (best on the CPU accelerator).</summary>
    Direct,
    /// <summary>Shared-memory tiled GEMM, 64×64 tile, 4×4 outputs per thread.</summary>
    Tile64,
    /// <summary>Shared-memory tiled GEMM, 128×128 tile, 8×8 outputs per thread.</summary>
    Tile128,
    /// <summary>
    /// cuBLAS SGEMM (CUDA only, opt-in): dense layers call it directly, convolutions through an explicit im2col
    /// lowering of the whole batch. TF32 tensor cores only with <see cref="GemmEngine.Tf32"/>.
    /// </summary>
    CuBlas,
    /// <summary>
    /// Register-blocked GEMM, 16×8 (or, for fewer than 16 rows, 4×8) outputs per loop iteration, no shared memory or barriers
    /// (<see cref="BlockedGemmKernels"/>): dense layers call it directly, convolutions through an explicit im2col
    /// lowering of a few images at a time (1×1 convolutions read the activations in place). The CPU accelerator's
    /// choice for large products; on GPUs only when asked for.
    /// </summary>
    Blocked,
}

/// <summary>
/// Runs the tiled GEMM kernels of one device and picks, per operation and shape, the fastest kernel family by timing
/// each candidate once; the choice is cached for the life of the device. Layers describe an operation by a key and a
/// delegate that runs it with a given family into a given output, so tuning never touches the real output.
/// </summary>
public sealed class GemmEngine
{
    readonly ComputeDevice device;
    readonly ConcurrentDictionary<string, GemmKernel> choices = new();
    readonly ConcurrentDictionary<string, double[]> timings = new();

    internal GemmEngine(ComputeDevice device)
    {
        this.device = device;
        var env = Parse(Environment.GetEnvironmentVariable("GPUCNN_GEMM"));
        // The variable forces a family for a whole run; a device that cannot run it keeps Auto.
        preference = IsTiled(env) && !CanRunTiled ? GemmKernel.Auto : env;
    }

    GemmKernel preference;

    static bool IsTiled(GemmKernel k) => k is GemmKernel.Tile64 or GemmKernel.Tile128;

    /// <summary>True when the device allows the 256-thread groups of the tiled kernels (GPUs; not the default CPU accelerator).</summary>
    public bool CanRunTiled => device.Accelerator.MaxNumThreadsPerGroup >= TiledGemmKernels.GroupSize;

    /// <summary>
    /// <see cref="GemmKernel.Auto"/> (default) tunes on GPUs and uses the direct kernels on the CPU accelerator; any
    /// other value forces that family everywhere. The environment variable <c>GPUCNN_GEMM</c> sets the initial value.
    /// </summary>
    /// <exception cref="ArgumentException">A tiled family on a device whose groups are too small for it.</exception>
    public GemmKernel Preference
    {
        get => preference;
        set
        {
            if (IsTiled(value) && !CanRunTiled)
                throw new ArgumentException($"{value.ToString().ToLowerInvariant()} needs {TiledGemmKernels.GroupSize} threads per group; " +
                    $"{device.Id} allows {device.Accelerator.MaxNumThreadsPerGroup} (the CPU accelerator runs the direct kernels)");
            preference = value;
        }
    }

    /// <summary>
    /// Multiply-adds from which the CPU accelerator's <see cref="GemmKernel.Auto"/> takes <see cref="GemmKernel.Blocked"/>:
    /// it runs four to eight times the direct kernels' multiply-adds per second there, but a convolution pays one or two
    /// more launches (about 0.1 ms each) for the lowering.
    /// </summary>
    public const long CpuBlockedMacs = 1L << 18;

    /// <summary>
    /// Tune on the CPU accelerator too. Off by default: there the direct kernels win without timing (the tiled ones
    /// need 256-thread groups, see <see cref="DeviceManager.OpenGroupedCpu"/>, and barriers are slow on the CPU).
    /// </summary>
    public bool TuneOnCpu { get; set; }

    /// <summary>The family chosen for each operation key so far.</summary>
    public IReadOnlyDictionary<string, GemmKernel> Choices => choices;

    /// <summary>Milliseconds per run of each candidate (in <see cref="Candidates"/> order) for each tuned key; infinity where a candidate cannot run.</summary>
    public IReadOnlyDictionary<string, double[]> Timings => timings;

    /// <summary>Families tried by tuning, in order.</summary>
    public static readonly GemmKernel[] Candidates = { GemmKernel.Direct, GemmKernel.Tile64, GemmKernel.Tile128 };

    /// <summary>Parses <c>auto|direct|tile64|tile128|cublas|blocked</c> (case-insensitive); null or empty gives Auto.</summary>
    public static GemmKernel Parse(string? name) =>
        string.IsNullOrWhiteSpace(name) ? GemmKernel.Auto
        : Enum.TryParse<GemmKernel>(name, true, out var k) && Enum.IsDefined(k) ? k
        : throw new ArgumentException($"unknown GEMM kernel '{name}'; valid choices: auto, direct, tile64, tile128, cublas, blocked");

    /// <summary>
    /// The family for <paramref name="key"/>. Without a forced preference, a GPU times every candidate on
    /// <paramref name="run"/> (into a scratch output of <paramref name="outputLength"/> values) and keeps the fastest;
    /// the CPU accelerator picks by <paramref name="multiplyAdds"/>, the size of the product (see <see cref="GemmKernel.Auto"/>).
    /// </summary>
    public GemmKernel Choose(string key, long outputLength, Action<GemmKernel, ArrayView<float>> run, long multiplyAdds = 0)
    {
        if (Preference == GemmKernel.CuBlas && !CuBlasReady()) return FallbackChoice(key, outputLength, run, multiplyAdds);
        if (Preference != GemmKernel.Auto) return Preference;
        return FallbackChoice(key, outputLength, run, multiplyAdds);
    }

    GemmKernel FallbackChoice(string key, long outputLength, Action<GemmKernel, ArrayView<float>> run, long multiplyAdds)
    {
        if (device.Kind == DeviceKind.Cpu && !TuneOnCpu)
            return choices.GetOrAdd(key, multiplyAdds >= CpuBlockedMacs ? GemmKernel.Blocked : GemmKernel.Direct);
        return choices.GetOrAdd(key, _ => Tune(key, outputLength, run));
    }

    /// <summary>
    /// Launches the register-blocked GEMM for prepared <paramref name="p"/>: <see cref="BlockedGemmKernels.Gemm16x8"/>
    /// or <see cref="BlockedGemmKernels.Gemm4x8"/>, as <see cref="BlockedGemmParams.TileRows"/> says.
    /// </summary>
    public void LaunchBlocked(BlockedGemmParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c)
    {
        if (p.M <= 0 || p.N <= 0) return;
        if (p.TileRows == BlockedGemmKernels.TallTileM)
        {
            blockedTall ??= device.Load<BlockedGemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BlockedGemmKernels.Gemm16x8);
            device.Launch(blockedTall, p.Tiles, p, a, b, bias, c);
        }
        else if (p.TileRows == BlockedGemmKernels.TileM)
        {
            blocked ??= device.Load<BlockedGemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(BlockedGemmKernels.Gemm4x8);
            device.Launch(blocked, p.Tiles, p, a, b, bias, c);
        }
        else throw new ArgumentException("blocked GEMM parameters must come from BlockedGemmParams.Prepare", nameof(p));
    }

    Action<AcceleratorStream, Index1D, int, int, BlockedGemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? blocked, blockedTall;

    GemmKernel Tune(string key, long outputLength, Action<GemmKernel, ArrayView<float>> run)
    {
        var scratch = device.Rent(outputLength);
        try
        {
            var ms = new double[Candidates.Length];
            for (int i = 0; i < Candidates.Length; i++)
            {
                if (IsTiled(Candidates[i]) && !CanRunTiled) { ms[i] = double.PositiveInfinity; continue; }
                try
                {
                    run(Candidates[i], scratch.View); // warm-up: first launch pays module loading
                    device.Synchronize();
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException or ILGPU.InternalCompilerException)
                {
                    ms[i] = double.PositiveInfinity; // refused before launch (group size, compiler): not a candidate here
                    continue;
                }
                int reps = 0;
                var sw = Stopwatch.StartNew();
                do { run(Candidates[i], scratch.View); reps++; device.Synchronize(); }
                while (reps < 3 && sw.Elapsed.TotalMilliseconds < 200);
                ms[i] = sw.Elapsed.TotalMilliseconds / reps;
            }
            timings[key] = ms;
            return Candidates[Array.IndexOf(ms, ms.Min())];
        }
        finally { device.Return(scratch); }
    }

    /// <summary>
    /// Launches a tiled kernel for C[b] = A[b]·B[b] with <paramref name="shape"/> (Batches and Splits at least 1,
    /// KPerSplit a multiple of <see cref="TiledGemmKernels.TileK"/> covering K).
    /// </summary>
    public void Launch<TA, TB, TC>(GemmKernel kernel, TA a, TB b, TC c, GemmShape shape)
        where TA : struct, IGemmA where TB : struct, IGemmB where TC : struct, IGemmC
    {
        if (shape.M <= 0 || shape.N <= 0) return;
        int tile = kernel switch
        {
            GemmKernel.Tile64 => 64,
            GemmKernel.Tile128 => 128,
            _ => throw new ArgumentException($"{kernel} is not a tiled GEMM kernel", nameof(kernel)),
        };
        var k = device.LoadGrouped(tile == 64 ? Kernels<TA, TB, TC>.Tile64 : Kernels<TA, TB, TC>.Tile128);
        var grid = new Index3D((shape.N + tile - 1) / tile, (shape.M + tile - 1) / tile, shape.Batches * shape.Splits);
        device.LaunchGrouped(k, new KernelConfig(grid, new Index3D(TiledGemmKernels.GroupSize, 1, 1)), a, b, c, shape);
    }

    // ---- cuBLAS ---------------------------------------------------------------------------------------------------

    CuBlas? cublas;
    bool cublasTried, tf32;

    /// <summary>
    /// Let cuBLAS use TF32 tensor cores (CUBLAS_TF32_TENSOR_OP_MATH): about 10 mantissa bits per product, as
    /// PyTorch's <c>allow_tf32</c>. Off by default; it affects only the <see cref="GemmKernel.CuBlas"/> family.
    /// </summary>
    public bool Tf32
    {
        get => tf32;
        set { tf32 = value; if (cublas is not null) cublas.MathMode = MathMode; }
    }

    CuBlasMathMode MathMode => tf32 ? (CuBlasMathMode)3 : CuBlasMathMode.DefaultMath; // 3 = CUBLAS_TF32_TENSOR_OP_MATH

    internal void StreamChanged()
    {
        if (cublas is not null) cublas.Stream = (CudaStream)device.Stream;
    }

    /// <summary>Why cuBLAS cannot be used on this device (null while it can, or before it was first asked for).</summary>
    public string? CuBlasProblem { get; private set; }

    /// <summary>cuBLAS's version (e.g. 130100), or 0 when it is not loaded.</summary>
    public int CuBlasVersion => cublas?.Version ?? 0;

    /// <summary>
    /// Test hook: serve the column-major SGEMM calls with the direct kernel, so the row/column-major mapping and the
    /// convolution lowering run (and are checked) where cuBLAS is absent.
    /// </summary>
    internal bool CuBlasStandIn { get; set; }

    /// <summary>True when cuBLAS is loaded (or stood in for); loads it on first use, recording any problem.</summary>
    public bool CuBlasReady()
    {
        if (CuBlasStandIn || cublas is not null) return true;
        if (cublasTried) return false;
        cublasTried = true;
        if (device.Accelerator is not CudaAccelerator cuda)
        {
            CuBlasProblem = $"cuBLAS needs a CUDA device; {device.Id} is {device.Kind}";
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
                                    or TypeInitializationException or ILGPU.Runtime.Cuda.CudaException)
        {
            CuBlasProblem = $"cuBLAS could not be loaded ({e.GetType().Name}: {e.Message}); using the ILGPU kernels";
            cublas = null;
            return false;
        }
    }

    /// <summary>
    /// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C through cuBLAS (which is column-major: it computes Cᵀ = op(B)ᵀ·op(A)ᵀ
    /// on the same memory). <see cref="CuBlasReady"/> must have returned true.
    /// </summary>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        if (m <= 0 || n <= 0) return;
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
        if (!CuBlasStandIn) throw new InvalidOperationException(CuBlasProblem ?? "cuBLAS is not loaded");
        // Column-major X with leading dimension ld is row-major Xᵀ: Cᵀ[n,m] = op(B)ᵀ·op(A)ᵀ, row-major.
        var p = new GemmParams
        {
            M = n, N = m, K = k, TransA = transB ? 1 : 0, TransB = transA ? 1 : 0, Lda = ldb, Ldb = lda, Ldc = ldc, Alpha = alpha, Beta = beta,
        };
        var gemm = device.Load<GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>>(GemmKernels.Gemm);
        device.Launch(gemm, m * n, p, b, a, c, 0, c);
    }

    // One delegate per instantiation, so a launch allocates nothing.
    static class Kernels<TA, TB, TC> where TA : struct, IGemmA where TB : struct, IGemmB where TC : struct, IGemmC
    {
        public static readonly Action<TA, TB, TC, GemmShape> Tile64 = TiledGemmKernels.Tile64;
        public static readonly Action<TA, TB, TC, GemmShape> Tile128 = TiledGemmKernels.Tile128;
    }

    /// <summary>
    /// Splits of the reduction that give a grid of at least about two groups per multiprocessor, when the M×N tiles
    /// alone are too few (the filter gradient of an early convolution: small M×N, huge K).
    /// </summary>
    public int SplitsFor(GemmKernel kernel, int m, int n, int k, int batches)
    {
        int tile = kernel == GemmKernel.Tile64 ? 64 : 128;
        long groups = (long)((m + tile - 1) / tile) * ((n + tile - 1) / tile) * batches;
        long want = 2L * Math.Max(1, device.Accelerator.NumMultiprocessors);
        if (groups >= want) return 1;
        int maxSplits = Math.Max(1, k / (TiledGemmKernels.TileK * 32)); // keep each slice at least 32 tiles deep
        return (int)Math.Clamp((want + groups - 1) / groups, 1, maxSplits);
    }

    /// <summary>A shape with its reduction cut into <paramref name="splits"/> tile-aligned slices.</summary>
    public static GemmShape Shape(int m, int n, int k, int batches = 1, int splits = 1)
    {
        int per = (k + splits - 1) / splits;
        per = (per + TiledGemmKernels.TileK - 1) / TiledGemmKernels.TileK * TiledGemmKernels.TileK;
        return new GemmShape { M = m, N = n, K = k, Batches = batches, Splits = splits, KPerSplit = Math.Max(per, TiledGemmKernels.TileK) };
    }
}

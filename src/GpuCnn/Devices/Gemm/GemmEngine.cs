using System.Collections.Concurrent;
using System.Diagnostics;
using GpuCnn.Kernels.Gemm;
using ILGPU;

namespace GpuCnn.Devices;

/// <summary>
/// Computes <see cref="GemmProduct"/>s on one device: it owns the families that can compute them and picks one per
/// product, by timing each candidate once on GPUs and by the product's size on the CPU accelerator. Choices are
/// cached for the life of the device, keyed by product (<see cref="GemmProduct.SameChoice"/>); a cached lookup
/// allocates nothing. Timing runs into a scratch output, so it never touches the real one.
/// </summary>
public sealed class GemmEngine
{
    readonly ComputeDevice device;
    readonly IGemmFamily[] families; // indexed by GemmFamily; Auto has none
    readonly DirectFamily direct;
    readonly TiledFamily tile64, tile128;
    readonly BlockedFamily blocked;
    readonly SimdFamily simd;
    readonly CuBlasFamily cublas;
    readonly ConcurrentDictionary<GemmProduct, GemmFamily> chosen = new(GemmProduct.SameChoice);
    readonly ConcurrentDictionary<string, GemmFamily> choices = new();
    readonly ConcurrentDictionary<string, double[]> timings = new();
    GemmFamily preference;

    internal GemmEngine(ComputeDevice device)
    {
        this.device = device;
        direct = new DirectFamily(device);
        tile64 = new TiledFamily(device, this, GemmFamily.Tile64);
        tile128 = new TiledFamily(device, this, GemmFamily.Tile128);
        blocked = new BlockedFamily(device);
        cublas = new CuBlasFamily(device, direct);
        simd = new SimdFamily(device);
        families = new IGemmFamily[] { null!, direct, tile64, tile128, cublas, blocked, simd };
        for (int i = 1; i < families.Length; i++) Debug.Assert((int)families[i].Id == i);
        var env = Parse(Environment.GetEnvironmentVariable("GPUCNN_GEMM"));
        // The variable forces a family for a whole run; a device that cannot run it keeps Auto.
        preference = IsTiled(env) && !CanRunTiled ? GemmFamily.Auto : env;
    }

    static bool IsTiled(GemmFamily f) => f is GemmFamily.Tile64 or GemmFamily.Tile128;

    /// <summary>True when the device allows the 256-thread groups of the tiled kernels (GPUs; not the default CPU accelerator).</summary>
    public bool CanRunTiled => device.Accelerator.MaxNumThreadsPerGroup >= TiledGemmKernels.GroupSize;

    /// <summary>
    /// <see cref="GemmFamily.Auto"/> (default) tunes on GPUs and chooses by size on the CPU accelerator; any other
    /// value forces that family everywhere. The environment variable <c>GPUCNN_GEMM</c> sets the initial value.
    /// </summary>
    /// <exception cref="ArgumentException">A tiled family on a device whose groups are too small for it.</exception>
    public GemmFamily Preference
    {
        get => preference;
        set
        {
            if (IsTiled(value) && !CanRunTiled)
                throw new ArgumentException($"{value.ToString().ToLowerInvariant()} needs {TiledGemmKernels.GroupSize} threads per group; " +
                    $"{device.Id} allows {device.Accelerator.MaxNumThreadsPerGroup} (the CPU accelerator runs the direct and blocked families)");
            preference = value;
        }
    }

    /// <summary>
    /// Multiply-adds from which the CPU accelerator's <see cref="GemmFamily.Auto"/> takes <see cref="GemmFamily.Blocked"/>:
    /// it runs several times the direct kernels' multiply-adds per second there, but a convolution pays one or two
    /// more launches for the lowering, which small products do not earn back (measurements in docs/benchmarks.md).
    /// </summary>
    public const long CpuBlockedMacs = 1L << 18;

    /// <summary>
    /// Multiply-adds from which the CPU accelerator's <see cref="GemmFamily.Auto"/> takes <see cref="GemmFamily.Simd"/>
    /// (with <see cref="CpuSimd"/>): below it, the stream synchronisation and the host threads' start cost more than the
    /// direct kernel's launch (measurements in docs/benchmarks.md).
    /// </summary>
    public const long CpuSimdMacs = 1L << 12;

    /// <summary>
    /// Lets the CPU accelerator's <see cref="GemmFamily.Auto"/> take the host SIMD family (default; the environment
    /// variable <c>GPUCNN_CPU_SIMD=0</c> turns it off). Off, the choice is the ILGPU kernels' rule that came before
    /// it (blocked from <see cref="CpuBlockedMacs"/>, else direct), bit for bit. Set it before the first product:
    /// choices are cached.
    /// </summary>
    public bool CpuSimd { get; set; } = Environment.GetEnvironmentVariable("GPUCNN_CPU_SIMD") != "0";

    /// <summary>The CPU accelerator's choice by size (no timing).</summary>
    GemmFamily CpuChoice(in GemmProduct product) =>
        CpuSimd && product.MultiplyAdds >= CpuSimdMacs ? GemmFamily.Simd
        : product.MultiplyAdds >= CpuBlockedMacs ? GemmFamily.Blocked : GemmFamily.Direct;

    /// <summary>
    /// Tune on the CPU accelerator too. Off by default: there the families are chosen by size without timing (the tiled
    /// ones need 256-thread groups, see <see cref="DeviceManager.OpenGroupedCpu"/>, and barriers are slow on the CPU).
    /// </summary>
    public bool TuneOnCpu { get; set; }

    /// <summary>The family chosen for each product so far, by its key (<see cref="GemmProduct.ToString"/>).</summary>
    public IReadOnlyDictionary<string, GemmFamily> Choices => choices;

    /// <summary>Milliseconds per run of each candidate (in <see cref="Candidates"/> order) for each tuned key; infinity where a candidate cannot run.</summary>
    public IReadOnlyDictionary<string, double[]> Timings => timings;

    /// <summary>Families tried by tuning, in order.</summary>
    public static readonly GemmFamily[] Candidates = { GemmFamily.Direct, GemmFamily.Tile64, GemmFamily.Tile128 };

    /// <summary>Parses <c>auto|direct|tile64|tile128|cublas|blocked|simd</c> (case-insensitive); null or empty gives Auto.</summary>
    public static GemmFamily Parse(string? name) =>
        string.IsNullOrWhiteSpace(name) ? GemmFamily.Auto
        : Enum.TryParse<GemmFamily>(name, true, out var k) && Enum.IsDefined(k) ? k
        : throw new ArgumentException($"unknown GEMM kernel '{name}'; valid choices: auto, direct, tile64, tile128, cublas, blocked, simd");

    /// <summary>Computes <paramref name="product"/> over <paramref name="operands"/> with the family <see cref="Choose"/> gives.</summary>
    public void Run(in GemmProduct product, in GemmOperands operands) =>
        families[(int)Choose(product, operands)].Run(product, operands);

    /// <summary>
    /// The family for <paramref name="product"/>: the forced <see cref="Preference"/> where it can run, else the cached
    /// choice, made on first use. A GPU times every candidate on <paramref name="operands"/> (into a scratch C) and keeps
    /// the fastest; the CPU accelerator picks by the product's multiply-adds (see <see cref="GemmFamily.Auto"/>).
    /// </summary>
    public GemmFamily Choose(in GemmProduct product, in GemmOperands operands)
    {
        if (Preference != GemmFamily.Auto && families[(int)Preference].Supports(product)) return Preference;
        return chosen.TryGetValue(product, out var family) ? family : ChooseSlow(product, operands);
    }

    GemmFamily ChooseSlow(GemmProduct product, GemmOperands operands)
    {
        string key = product.ToString();
        var family = device.Kind == DeviceKind.Cpu && !TuneOnCpu
            ? choices.GetOrAdd(key, CpuChoice(product))
            : choices.GetOrAdd(key, _ => Tune(key, product, operands));
        chosen[product] = family;
        return family;
    }

    GemmFamily Tune(string key, GemmProduct product, GemmOperands operands)
    {
        // Timed as the layer's product without what varies between its runs: no activation, beta 0.
        var timed = product with { Epilogue = product.Epilogue & ~GemmEpilogue.Activation, Activation = default, Beta = 0f };
        var scratch = device.Rent(product.OutputLength);
        var into = operands with { C = scratch.View };
        try
        {
            var ms = new double[Candidates.Length];
            for (int i = 0; i < Candidates.Length; i++)
            {
                var family = families[(int)Candidates[i]];
                if (!family.Supports(timed)) { ms[i] = double.PositiveInfinity; continue; }
                try
                {
                    family.Run(timed, into); // warm-up: first launch pays module loading
                    device.Synchronize();
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException or ILGPU.InternalCompilerException)
                {
                    ms[i] = double.PositiveInfinity; // refused before launch (group size, compiler): not a candidate here
                    continue;
                }
                int reps = 0;
                var sw = Stopwatch.StartNew();
                do { family.Run(timed, into); reps++; device.Synchronize(); }
                while (reps < 3 && sw.Elapsed.TotalMilliseconds < 200);
                ms[i] = sw.Elapsed.TotalMilliseconds / reps;
            }
            timings[key] = ms;
            return Candidates[Array.IndexOf(ms, ms.Min())];
        }
        finally { device.Return(scratch); }
    }

    /// <summary>Launches the register-blocked GEMM for <see cref="BlockedGemmParams.Prepare"/>d parameters (<see cref="GemmFamily.Blocked"/>).</summary>
    public void LaunchBlocked(in BlockedGemmArgs args) => blocked.Launch(args);

    /// <summary>Computes prepared blocked-GEMM parameters with the host SIMD GEMM (<see cref="GemmFamily.Simd"/>; CPU accelerator only).</summary>
    internal void RunSimd(in BlockedGemmArgs args) => simd.Compute(args);

    /// <summary>Host threads of the SIMD family's products (default: the processor count; the results never depend on it).</summary>
    public int SimdThreads
    {
        get => simd.Threads;
        set => simd.Threads = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), "at least one thread");
    }

    /// <summary>
    /// Launches the tiled kernel of <paramref name="family"/> (Tile64 or Tile128) for C[b] = A[b]·B[b] with
    /// <paramref name="shape"/> (Batches and Splits at least 1, KPerSplit a multiple of <see cref="TiledGemmKernels.TileK"/> covering K).
    /// </summary>
    public void LaunchTiled<TA, TB, TC>(GemmFamily family, TA a, TB b, TC c, GemmShape shape)
        where TA : struct, IGemmA where TB : struct, IGemmB where TC : struct, IGemmC =>
        (family switch
        {
            GemmFamily.Tile64 => tile64,
            GemmFamily.Tile128 => tile128,
            _ => throw new ArgumentException($"{family} is not a tiled GEMM family", nameof(family)),
        }).Launch(a, b, c, shape);

    /// <summary>
    /// Splits of the reduction that give a grid of at least about two groups per multiprocessor, when the M×N tiles
    /// alone are too few (the filter gradient of an early convolution: small M×N, huge K).
    /// </summary>
    public int SplitsFor(GemmFamily family, int m, int n, int k, int batches)
    {
        int tile = family == GemmFamily.Tile64 ? 64 : 128;
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

    // ---- cuBLAS (CuBlasFamily holds the library) -------------------------------------------------------------------

    /// <summary>
    /// Let cuBLAS use TF32 tensor cores (CUBLAS_TF32_TENSOR_OP_MATH): about 10 mantissa bits per product, as
    /// PyTorch's <c>allow_tf32</c>. Off by default; it affects only the <see cref="GemmFamily.CuBlas"/> family.
    /// </summary>
    public bool Tf32
    {
        get => cublas.Tf32;
        set => cublas.Tf32 = value;
    }

    internal void StreamChanged() => cublas.StreamChanged();

    /// <summary>Why cuBLAS cannot be used on this device (null while it can, or before it was first asked for).</summary>
    public string? CuBlasProblem => cublas.Problem;

    /// <summary>cuBLAS's version (e.g. 130100), or 0 when it is not loaded.</summary>
    public int CuBlasVersion => cublas.Version;

    /// <summary>
    /// Test hook: serve the column-major SGEMM calls with the direct kernel, so the row/column-major mapping and the
    /// convolution lowering run (and are checked) where cuBLAS is absent.
    /// </summary>
    internal bool CuBlasStandIn
    {
        get => cublas.StandIn;
        set => cublas.StandIn = value;
    }

    /// <summary>True when cuBLAS is loaded (or stood in for); loads it on first use, recording any problem.</summary>
    public bool CuBlasReady() => cublas.Ready();

    /// <summary>
    /// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C through cuBLAS (which is column-major: it computes Cᵀ = op(B)ᵀ·op(A)ᵀ
    /// on the same memory). <see cref="CuBlasReady"/> must have returned true.
    /// </summary>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, ArrayView<float> a, int lda,
        ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc) =>
        cublas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

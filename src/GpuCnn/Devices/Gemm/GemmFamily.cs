using GpuCnn.Kernels.Gemm;

namespace GpuCnn.Devices;

/// <summary>The kernel families that can compute a <see cref="GemmProduct"/>.</summary>
public enum GemmFamily
{
    /// <summary>
    /// Choose per product by timing each candidate once (GPUs). The CPU accelerator does not time: it takes
    /// <see cref="Simd"/> for products of at least <see cref="GemmEngine.CpuSimdMacs"/> multiply-adds and
    /// <see cref="Direct"/> below that; with <see cref="GemmEngine.CpuSimd"/> off, <see cref="Blocked"/> from
    /// <see cref="GemmEngine.CpuBlockedMacs"/> and <see cref="Direct"/> below (the rule before the SIMD family).
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
    /// <summary>
    /// Host SIMD GEMM (<see cref="SimdGemm"/>: packed panels, a vector micro-kernel, threads over tiles of C) over the
    /// blocked family's strided decomposition, reading the CPU accelerator's buffers in place; CPU accelerator only.
    /// </summary>
    Simd,
}

/// <summary>
/// One family's way of computing products on one device. It loads its kernels on first use; the engine decides which
/// family runs a product.
/// </summary>
internal interface IGemmFamily
{
    /// <summary>Which family this is.</summary>
    GemmFamily Id { get; }

    /// <summary>True when the family can run <paramref name="product"/> on its device (its kernels' group shape, its library).</summary>
    bool Supports(in GemmProduct product);

    /// <summary>Computes <paramref name="product"/> over <paramref name="operands"/>.</summary>
    void Run(in GemmProduct product, in GemmOperands operands);
}

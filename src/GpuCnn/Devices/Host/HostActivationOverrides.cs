using System.Runtime.CompilerServices;
using System.Numerics;
using GpuCnn.Kernels.Elementwise;

namespace GpuCnn.Devices;

/// <summary>
/// The vector form of an <see cref="IUnaryOp"/>: each lane computes exactly what the op's scalar method computes (the
/// same float operations in the same order, selects where the op branches).
/// </summary>
internal interface IVectorUnaryOp<TOp> where TOp : struct, IUnaryOp
{
    /// <summary>Lanewise <see cref="IUnaryOp.Forward"/>; only called when <see cref="HasForward"/>.</summary>
    static abstract Vector<float> Forward(in TOp op, Vector<float> x);
    /// <summary>Lanewise <see cref="IUnaryOp.Backward"/>.</summary>
    static abstract Vector<float> Backward(in TOp op, Vector<float> x, Vector<float> y, Vector<float> dy);
    /// <summary>False where the forward needs a transcendental (exp, tanh): it then runs the scalar op per element.</summary>
    static abstract bool HasForward { get; }
}

/// <summary>ReLU's lanes: select on x &gt; 0 (not max, which differs for −0 and NaN).</summary>
internal readonly struct ReluLanes : IVectorUnaryOp<ReluOp>
{
    public static bool HasForward => true;
    public static Vector<float> Forward(in ReluOp op, Vector<float> x) => Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, Vector<float>.Zero);
    public static Vector<float> Backward(in ReluOp op, Vector<float> x, Vector<float> y, Vector<float> dy) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), dy, Vector<float>.Zero);
}

/// <summary>LeakyReLU's lanes.</summary>
internal readonly struct LeakyReluLanes : IVectorUnaryOp<LeakyReluOp>
{
    public static bool HasForward => true;
    public static Vector<float> Forward(in LeakyReluOp op, Vector<float> x) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, new Vector<float>(op.Slope) * x);
    public static Vector<float> Backward(in LeakyReluOp op, Vector<float> x, Vector<float> y, Vector<float> dy) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), dy, new Vector<float>(op.Slope) * dy);
}

/// <summary>ELU's backward lanes (its forward needs exp).</summary>
internal readonly struct EluLanes : IVectorUnaryOp<EluOp>
{
    public static bool HasForward => false;
    public static Vector<float> Forward(in EluOp op, Vector<float> x) => throw new NotSupportedException();
    public static Vector<float> Backward(in EluOp op, Vector<float> x, Vector<float> y, Vector<float> dy) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), dy, dy * (y + new Vector<float>(op.Alpha)));
}

/// <summary>Tanh's backward lanes: dy·(1 − y·y).</summary>
internal readonly struct TanhLanes : IVectorUnaryOp<TanhOp>
{
    public static bool HasForward => false;
    public static Vector<float> Forward(in TanhOp op, Vector<float> x) => throw new NotSupportedException();
    public static Vector<float> Backward(in TanhOp op, Vector<float> x, Vector<float> y, Vector<float> dy) => dy * (Vector<float>.One - y * y);
}

/// <summary>Sigmoid's backward lanes: (dy·y)·(1 − y).</summary>
internal readonly struct SigmoidLanes : IVectorUnaryOp<SigmoidOp>
{
    public static bool HasForward => false;
    public static Vector<float> Forward(in SigmoidOp op, Vector<float> x) => throw new NotSupportedException();
    public static Vector<float> Backward(in SigmoidOp op, Vector<float> x, Vector<float> y, Vector<float> dy) => dy * y * (Vector<float>.One - y);
}

/// <summary>y = op(x) (<see cref="ElementwiseKernels.UnaryForward{TOp}"/>): vector lanes, or the scalar op per element.</summary>
internal sealed unsafe class UnaryForwardOverride<TOp, TL> : HostOverride<UnaryForwardArgs<TOp>>
    where TOp : struct, IUnaryOp where TL : struct, IVectorUnaryOp<TOp>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in UnaryForwardArgs<TOp> a)
    {
        float* x = HostMemory.Ptr(a.X), y = HostMemory.Ptr(a.Y);
        TOp op = a.Op;
        int i = start;
        if (TL.HasForward)
            for (; i <= end - Vector<float>.Count; i += Vector<float>.Count) TL.Forward(op, Vector.Load(x + i)).Store(y + i);
        for (; i < end; i++) y[i] = op.Forward(x[i]);
    }

    protected override HostOverride<UnaryForwardArgs<TOp>> Clone() => new UnaryForwardOverride<TOp, TL>();
}

/// <summary>dx = β·dx + op′(x, y)·dy (<see cref="ElementwiseKernels.UnaryBackward{TOp}"/>); x may alias y, dx may alias dy.</summary>
internal sealed unsafe class UnaryBackwardOverride<TOp, TL> : HostOverride<UnaryBackwardArgs<TOp>>
    where TOp : struct, IUnaryOp where TL : struct, IVectorUnaryOp<TOp>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Range(int start, int end, int n, in UnaryBackwardArgs<TOp> a)
    {
        float* x = HostMemory.Ptr(a.X), y = HostMemory.Ptr(a.Y), dy = HostMemory.Ptr(a.Dy), dx = HostMemory.Ptr(a.Dx);
        TOp op = a.Op;
        float beta = a.Beta;
        int i = start, w = Vector<float>.Count;
        // A view the op does not read may be unset (null): read it only through a valid pointer.
        float* xs = x != null ? x : dy, ys = y != null ? y : dy;
        if (beta == 0f)
        {
            for (; i <= end - w; i += w) TL.Backward(op, Vector.Load(xs + i), Vector.Load(ys + i), Vector.Load(dy + i)).Store(dx + i);
            for (; i < end; i++) dx[i] = op.Backward(xs[i], ys[i], dy[i]);
        }
        else
        {
            var b = new Vector<float>(beta);
            for (; i <= end - w; i += w)
                (b * Vector.Load(dx + i) + TL.Backward(op, Vector.Load(xs + i), Vector.Load(ys + i), Vector.Load(dy + i))).Store(dx + i);
            for (; i < end; i++) dx[i] = beta * dx[i] + op.Backward(xs[i], ys[i], dy[i]);
        }
    }

    protected override HostOverride<UnaryBackwardArgs<TOp>> Clone() => new UnaryBackwardOverride<TOp, TL>();
}

/// <summary>Registers the activations' overrides: ReLU, LeakyReLU, ELU, Tanh and Sigmoid, forward and backward.</summary>
internal sealed class HostActivationOverrides : IHostOverrideSet
{
    /// <inheritdoc/>
    public void Register()
    {
        Add<ReluOp, ReluLanes>();
        Add<LeakyReluOp, LeakyReluLanes>();
        Add<EluOp, EluLanes>();
        Add<TanhOp, TanhLanes>();
        Add<SigmoidOp, SigmoidLanes>();
    }

    static void Add<TOp, TL>() where TOp : struct, IUnaryOp where TL : struct, IVectorUnaryOp<TOp>
    {
        HostOverrides.Add<UnaryForwardArgs<TOp>>(ElementwiseKernels.UnaryForward, new UnaryForwardOverride<TOp, TL>());
        HostOverrides.Add<UnaryBackwardArgs<TOp>>(ElementwiseKernels.UnaryBackward, new UnaryBackwardOverride<TOp, TL>());
    }
}

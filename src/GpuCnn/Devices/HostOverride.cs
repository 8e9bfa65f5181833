using System.Collections.Concurrent;
using System.Reflection;
using ILGPU;

namespace GpuCnn.Devices;

/// <summary>
/// A host implementation of one chunked kernel for the CPU accelerator, used in place of running the ILGPU body as host
/// loops (<see cref="ComputeDevice.HostOverrides"/>). It must give the kernel's results bit for bit: the same
/// operations in the same order per output (vectorised across outputs, never reassociated within one). Subclasses
/// write <see cref="Range"/> over host pointers (<see cref="HostMemory"/>); the base class cuts the launch into
/// <see cref="Grain"/>-element ranges spread over <see cref="HostPool"/>, and a launch allocates nothing. Mark each
/// <see cref="Range"/> <c>[MethodImpl(MethodImplOptions.AggressiveOptimization)]</c>: it runs only a few times per launch,
/// too rarely for tiered compilation to promote it soon, so it would stay unoptimised through a whole run.
/// </summary>
/// <typeparam name="TArgs">The kernel's argument struct.</typeparam>
internal abstract class HostOverride<TArgs> : IHostWork where TArgs : struct
{
    HostOverride<TArgs>? spare; // reused by the next launch (a concurrent launch of a shared device clones)
    int n, grain;
    TArgs args;

    protected HostOverride() => spare = this;

    /// <summary>Elements per work item; launches of at most one grain run on the calling thread.</summary>
    protected virtual int Grain => 16384;

    /// <summary>Computes elements [<paramref name="start"/>, <paramref name="end"/>) of the launch over <paramref name="n"/>.</summary>
    protected abstract void Range(int start, int end, int n, in TArgs args);

    /// <summary>A fresh instance for a concurrent launch.</summary>
    protected abstract HostOverride<TArgs> Clone();

    /// <summary>Runs the launch over <paramref name="n"/> elements; the stream has been drained by the caller.</summary>
    public void Run(int n, in TArgs args)
    {
        int g = Math.Max(1, Grain);
        int items = (int)(((long)n + g - 1) / g);
        if (items <= 1) { Range(0, n, n, args); return; }
        var job = Interlocked.Exchange(ref spare, null) ?? Clone();
        (job.n, job.grain, job.args) = (n, g, args);
        try { HostPool.Run(job, items); }
        finally { job.args = default; spare = job; }
    }

    /// <inheritdoc/>
    public void Execute(int index)
    {
        int s = index * grain;
        Range(s, Math.Min(n, s + grain), n, args);
    }
}

/// <summary>
/// The table of <see cref="HostOverride{TArgs}"/>s by kernel body. Every non-abstract class of this assembly that
/// implements <see cref="IHostOverrideSet"/> registers its overrides when the table is first used, so an op family
/// adds its overrides in a file of its own.
/// </summary>
internal static class HostOverrides
{
    static readonly ConcurrentDictionary<MethodInfo, object> table = new();

    static HostOverrides()
    {
        foreach (var t in typeof(HostOverrides).Assembly.GetTypes())
            if (!t.IsAbstract && !t.IsInterface && typeof(IHostOverrideSet).IsAssignableFrom(t))
                ((IHostOverrideSet)Activator.CreateInstance(t, nonPublic: true)!).Register();
    }

    /// <summary>Registers <paramref name="impl"/> for the kernel <paramref name="body"/> (a generic body per instantiation).</summary>
    public static void Add<TArgs>(Action<Index1D, int, int, TArgs> body, HostOverride<TArgs> impl) where TArgs : struct
    {
        if (!table.TryAdd(body.Method, impl)) throw new InvalidOperationException($"two host overrides for {body.Method.DeclaringType?.Name}.{body.Method.Name}");
    }

    /// <summary>The override of <paramref name="body"/>, or null.</summary>
    public static HostOverride<TArgs>? Find<TArgs>(MethodInfo body) where TArgs : struct =>
        table.TryGetValue(body, out var o) ? (HostOverride<TArgs>)o : null;

    /// <summary>Number of registered overrides.</summary>
    public static int Count => table.Count;
}

/// <summary>A group of host overrides that registers itself (<see cref="HostOverrides"/>); needs a parameterless constructor.</summary>
internal interface IHostOverrideSet
{
    /// <summary>Calls <see cref="HostOverrides.Add"/> for each override of the group.</summary>
    void Register();
}

/// <summary>Host addresses of CPU accelerator views (their buffers are host memory).</summary>
internal static unsafe class HostMemory
{
    /// <summary>The host address of element 0 of <paramref name="view"/>, or null for an unset or empty view.</summary>
    public static T* Ptr<T>(ArrayView<T> view) where T : unmanaged =>
        view.IsValid && view.Length > 0 ? (T*)ILGPU.Runtime.ArrayViewExtensions.LoadEffectiveAddressAsPtr(view) : null;
}

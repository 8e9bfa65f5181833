using System.Runtime.InteropServices;
using ILGPU.Runtime.Cuda;

namespace GpuCnn.Devices;

/// <summary>
/// Replays a training step as a CUDA graph. ILGPU 1.5.3 has no graph API, so this calls the driver (libcuda) on the
/// stream handle of the device: the first step runs normally (kernel choices are timed, scratch buffers pooled), the
/// second is captured with <c>cuStreamBeginCapture</c>, instantiated and launched, and later steps replay it with
/// one <c>cuGraphLaunch</c> instead of dozens of kernel launches. Anything baked into the captured launches (the
/// learning rate, the number of valid labels, train or eval mode) forms the capture key; a new key captures again.
/// Where capture is unsupported or fails, the step runs uncaptured and <see cref="Problem"/> says why.
/// </summary>
public sealed class CudaStepGraph : IDisposable
{
    readonly ComputeDevice device;
    IntPtr exec, graph;
    (float, int, bool) key;
    bool warm;

    CudaStepGraph(ComputeDevice device) => this.device = device;

    /// <summary>Why steps are not captured (null while they are).</summary>
    public string? Problem { get; private set; }

    /// <summary>Steps replayed from a captured graph.</summary>
    public long Replays { get; private set; }

    /// <summary>Times a step was captured (once per key).</summary>
    public int Captures { get; private set; }

    /// <summary>
    /// A runner for <paramref name="device"/>, or null with the reason when capture cannot work there. It switches
    /// the device to a capturable stream: the legacy default stream ILGPU uses cannot be captured.
    /// </summary>
    public static CudaStepGraph? TryCreate(ComputeDevice device, out string? reason)
    {
        reason = null;
        if (device.Accelerator is not CudaAccelerator)
        {
            reason = $"CUDA graphs need a CUDA device; {device.Id} is {device.Kind}";
            return null;
        }
        if (!Driver.Load(out reason)) return null;
        device.UseCapturableStream();
        return new CudaStepGraph(device);
    }

    /// <summary>
    /// Runs one step: <paramref name="step"/> queues its work on the device's stream (no host synchronisation);
    /// <paramref name="replayed"/> does the host-side bookkeeping of a step whose work was replayed.
    /// </summary>
    public void Run(Action step, Action replayed, float learningRate, int validLabels, bool training)
    {
        if (Problem is not null) { step(); return; }
        var k = (learningRate, validLabels, training);
        if (exec != IntPtr.Zero && k == key)
        {
            Check(Driver.GraphLaunch(exec, StreamHandle), "cuGraphLaunch");
            Replays++;
            replayed();
            return;
        }
        if (!warm) { warm = true; step(); return; } // tuning and first-use allocations must not happen in a capture
        Release();
        var cuda = (CudaAccelerator)device.Accelerator;
        cuda.Bind();
        int r = Driver.BeginCapture(StreamHandle, 2 /* CU_STREAM_CAPTURE_MODE_RELAXED */);
        if (r != 0) { Fail("cuStreamBeginCapture", r); step(); return; }
        try { step(); }
        catch
        {
            Driver.EndCapture(StreamHandle, out var broken);
            if (broken != IntPtr.Zero) Driver.GraphDestroy(broken);
            throw;
        }
        r = Driver.EndCapture(StreamHandle, out graph);
        if (r == 0) r = Driver.GraphInstantiate(out exec, graph, 0);
        if (r != 0)
        {
            Fail("stream capture", r);
            Release();
            step(); // the captured work never ran: run it now
            return;
        }
        key = k;
        Captures++;
        Check(Driver.GraphLaunch(exec, StreamHandle), "cuGraphLaunch");
    }

    IntPtr StreamHandle => ((CudaStream)device.Stream).StreamPtr;

    void Fail(string what, int code) => Problem = $"{what} failed ({Driver.ErrorName(code)}); steps run uncaptured";

    static void Check(int code, string what)
    {
        if (code != 0) throw new InvalidOperationException($"{what} failed: {Driver.ErrorName(code)}");
    }

    void Release()
    {
        if (exec != IntPtr.Zero) Driver.GraphExecDestroy(exec);
        if (graph != IntPtr.Zero) Driver.GraphDestroy(graph);
        exec = graph = IntPtr.Zero;
    }

    /// <summary>Frees the graph (the device keeps its stream).</summary>
    public void Dispose() => Release();

    /// <summary>The few driver entry points, bound at run time so that machines without CUDA never load them.</summary>
    static unsafe class Driver
    {
        static delegate* unmanaged<IntPtr, int, int> beginCapture;
        static delegate* unmanaged<IntPtr, IntPtr*, int> endCapture;
        static delegate* unmanaged<IntPtr*, IntPtr, ulong, int> instantiate;
        static delegate* unmanaged<IntPtr, IntPtr, int> launch;
        static delegate* unmanaged<IntPtr, int> execDestroy, graphDestroy;
        static delegate* unmanaged<int, IntPtr*, int> errorName;
        static string? loadProblem;
        static bool loaded;

        public static bool Load(out string? problem)
        {
            lock (typeof(Driver))
            {
                if (!loaded)
                {
                    loaded = true;
                    string lib = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
                    if (!NativeLibrary.TryLoad(lib, out var h)) loadProblem = $"{lib} could not be loaded";
                    else
                    {
                        try
                        {
                            beginCapture = (delegate* unmanaged<IntPtr, int, int>)NativeLibrary.GetExport(h, "cuStreamBeginCapture_v2");
                            endCapture = (delegate* unmanaged<IntPtr, IntPtr*, int>)NativeLibrary.GetExport(h, "cuStreamEndCapture");
                            instantiate = (delegate* unmanaged<IntPtr*, IntPtr, ulong, int>)NativeLibrary.GetExport(h, "cuGraphInstantiateWithFlags");
                            launch = (delegate* unmanaged<IntPtr, IntPtr, int>)NativeLibrary.GetExport(h, "cuGraphLaunch");
                            execDestroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(h, "cuGraphExecDestroy");
                            graphDestroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(h, "cuGraphDestroy");
                            errorName = (delegate* unmanaged<int, IntPtr*, int>)NativeLibrary.GetExport(h, "cuGetErrorName");
                        }
                        catch (EntryPointNotFoundException e) { loadProblem = $"the CUDA driver lacks graph support ({e.Message})"; }
                    }
                }
                problem = loadProblem;
                return loadProblem is null;
            }
        }

        public static int BeginCapture(IntPtr stream, int mode) => beginCapture(stream, mode);
        public static int EndCapture(IntPtr stream, out IntPtr graph) { IntPtr g; int r = endCapture(stream, &g); graph = g; return r; }
        public static int GraphInstantiate(out IntPtr exec, IntPtr graph, ulong flags) { IntPtr e; int r = instantiate(&e, graph, flags); exec = e; return r; }
        public static int GraphLaunch(IntPtr exec, IntPtr stream) => launch(exec, stream);
        public static int GraphExecDestroy(IntPtr exec) => execDestroy(exec);
        public static int GraphDestroy(IntPtr g) => graphDestroy(g);

        public static string ErrorName(int code)
        {
            IntPtr s = IntPtr.Zero;
            return errorName != null && errorName(code, &s) == 0 && s != IntPtr.Zero ? $"{Marshal.PtrToStringAnsi(s)} ({code})" : $"CUresult {code}";
        }
    }
}

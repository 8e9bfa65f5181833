using System.Runtime.InteropServices;

namespace GpuCnn.Distributed;

/// <summary>Which MPI implementation a <see cref="MpiLibrary"/> bound.</summary>
public enum MpiFlavour
{
    /// <summary>Open MPI (<c>libmpi.so.40</c>): handles are the addresses of exported globals.</summary>
    OpenMpi,
    /// <summary>MPICH (<c>libmpich.so.12</c>) and its derivatives: handles are integer constants.</summary>
    Mpich,
}

/// <summary>
/// The few MPI functions GpuCnn calls, bound at run time through function pointers, with the handles of the
/// implementation that was loaded. Open MPI's handles are pointers to its predefined objects and MPICH's are
/// <c>int</c> constants; both travel here as <see cref="nint"/>, which the x86-64 and AArch64 calling conventions pass
/// in a full register whose low 32 bits an <c>int</c> parameter reads.
/// </summary>
public sealed unsafe class MpiLibrary
{
    const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")] static extern nint DlOpen(string file, int mode);
    [DllImport("libc", EntryPoint = "setenv")] static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>The library's file name as loaded.</summary>
    public string Path { get; }
    /// <summary>Open MPI or MPICH.</summary>
    public MpiFlavour Flavour { get; }
    /// <summary>MPI_COMM_WORLD.</summary>
    public nint CommWorld { get; }
    /// <summary>MPI_FLOAT.</summary>
    public nint Float { get; }
    /// <summary>MPI_DOUBLE.</summary>
    public nint Double { get; }
    /// <summary>MPI_BYTE.</summary>
    public nint Byte { get; }
    /// <summary>MPI_SUM.</summary>
    public nint Sum { get; }
    /// <summary>MPI_IN_PLACE: (void*)1 in Open MPI, (void*)-1 in MPICH.</summary>
    public nint InPlace { get; }

    internal readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    internal readonly delegate* unmanaged<int*, int> Initialized;
    internal readonly delegate* unmanaged<int*, int> Finalized;
    internal readonly delegate* unmanaged<int> Finalize;
    internal readonly delegate* unmanaged<nint, int*, int> CommRank;
    internal readonly delegate* unmanaged<nint, int*, int> CommSize;
    internal readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> Allreduce;
    internal readonly delegate* unmanaged<nint, int, nint, int, nint, int> Bcast;
    internal readonly delegate* unmanaged<nint, int> Barrier;
    internal readonly delegate* unmanaged<nint, int, int> Abort;

    MpiLibrary(string path, nint h)
    {
        Path = path;
        nint Fn(string name) => NativeLibrary.TryGetExport(h, name, out var f) ? f
            : throw new MpiException($"{path}: has no function {name}");
        if (NativeLibrary.TryGetExport(h, "ompi_mpi_comm_world", out var world))
        {
            Flavour = MpiFlavour.OpenMpi;
            CommWorld = world;
            Float = Fn("ompi_mpi_float");
            Double = Fn("ompi_mpi_double");
            Byte = Fn("ompi_mpi_byte");
            Sum = Fn("ompi_mpi_op_sum");
            InPlace = 1;
        }
        else
        {
            // mpi.h of MPICH 3 and 4 (and Intel MPI, MVAPICH) define these as integer constants.
            Flavour = MpiFlavour.Mpich;
            CommWorld = 0x44000000;
            Float = 0x4c00040a;
            Double = 0x4c00080b;
            Byte = 0x4c00010d;
            Sum = 0x58000003;
            InPlace = -1;
        }
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Fn("MPI_Init_thread");
        Initialized = (delegate* unmanaged<int*, int>)Fn("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Fn("MPI_Finalized");
        Finalize = (delegate* unmanaged<int>)Fn("MPI_Finalize");
        CommRank = (delegate* unmanaged<nint, int*, int>)Fn("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Fn("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)Fn("MPI_Allreduce");
        Bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)Fn("MPI_Bcast");
        Barrier = (delegate* unmanaged<nint, int>)Fn("MPI_Barrier");
        Abort = (delegate* unmanaged<nint, int, int>)Fn("MPI_Abort");
    }

    /// <summary>
    /// The library names tried, in order: <c>GPUCNN_MPI_LIBRARY</c> when set, then the implementation whose launcher
    /// variables are present (Open MPI's <c>OMPI_*</c>; MPICH's Hydra sets <c>PMI_*</c>), then the other one.
    /// </summary>
    public static IReadOnlyList<string> Candidates(Func<string, string?> env)
    {
        var list = new List<string>();
        if (env("GPUCNN_MPI_LIBRARY") is { Length: > 0 } forced) return new[] { forced };
        bool mpich = env("OMPI_COMM_WORLD_SIZE") is null && (env("PMI_SIZE") is not null || env("MPI_LOCALRANKID") is not null);
        list.AddRange(mpich ? new[] { "libmpich.so.12", "libmpi.so.40" } : new[] { "libmpi.so.40", "libmpich.so.12" });
        list.Add("libmpi.so.12"); // MPICH-derived builds that ship libmpi.so.12
        return list;
    }

    /// <summary>
    /// Loads the first library of <see cref="Candidates"/> with global symbols (Open MPI's plug-ins resolve
    /// libmpi's symbols through the global scope). Before that it sets, through libc, <c>UCX_ERROR_SIGNALS=""</c>:
    /// UCX otherwise installs a SIGSEGV handler that turns each .NET NullReferenceException into a crash, and
    /// <see cref="Environment.SetEnvironmentVariable(string, string)"/> only changes .NET's copy of the environment.
    /// </summary>
    /// <exception cref="MpiException">No candidate loads, or one lacks a function.</exception>
    public static MpiLibrary Load()
    {
        SetEnv("UCX_ERROR_SIGNALS", "", 1);
        var tried = new List<string>();
        foreach (var name in Candidates(Environment.GetEnvironmentVariable))
        {
            nint h = DlOpen(name, RtldNow | RtldGlobal);
            if (h != 0) return new MpiLibrary(name, h);
            tried.Add(name);
        }
        throw new MpiException($"cannot load an MPI library (tried {string.Join(", ", tried)}); install openmpi-bin or mpich, or set GPUCNN_MPI_LIBRARY");
    }

    /// <summary>Throws when an MPI call did not return MPI_SUCCESS (only reached with a non-fatal error handler).</summary>
    internal static void Check(int rc, string call)
    {
        if (rc != 0) throw new MpiException($"{call} failed with MPI error {rc}");
    }
}

/// <summary>An MPI library could not be loaded or a call failed.</summary>
public sealed class MpiException(string message) : Exception(message);

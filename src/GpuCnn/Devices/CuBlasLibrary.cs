using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU.Runtime.Cuda;

namespace GpuCnn.Devices;

/// <summary>
/// Makes ILGPU.Algorithms' <see cref="CuBlas"/> find cuBLAS on CUDA 13 machines. Its imports name
/// <c>libcublas.so.12</c>, <c>.11</c> and <c>.10</c> only; CUDA 13 ships <c>libcublas.so.13</c> with the same
/// <c>_v2</c> entry points. A DLL-import resolver on the ILGPU.Algorithms assembly answers every request for a
/// cuBLAS library with the newest one present (13, then the name asked for).
/// </summary>
public static class CuBlasLibrary
{
    static readonly object Gate = new();
    static bool registered;
    static IntPtr loaded;

    /// <summary>The file that was loaded, once a cuBLAS import has been resolved.</summary>
    public static string? LoadedName { get; private set; }

    /// <summary>Installs the resolver (idempotent). Must run before the first <see cref="CuBlas"/> is created.</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (registered) return;
            registered = true;
            try { NativeLibrary.SetDllImportResolver(typeof(CuBlas).Assembly, Resolve); }
            catch (InvalidOperationException) { } // the host app installed its own resolver: respect it
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!name.StartsWith("libcublas", StringComparison.Ordinal) && !name.StartsWith("cublas", StringComparison.Ordinal))
            return IntPtr.Zero; // cuFFT, cuRAND, NVML...: default probing
        lock (Gate)
        {
            if (loaded != IntPtr.Zero) return loaded;
            string[] names = OperatingSystem.IsWindows() ? new[] { "cublas64_13.dll", name } : new[] { "libcublas.so.13", name };
            foreach (var n in names)
                if (NativeLibrary.TryLoad(n, assembly, path, out loaded))
                {
                    LoadedName = n;
                    return loaded;
                }
            return IntPtr.Zero;
        }
    }
}

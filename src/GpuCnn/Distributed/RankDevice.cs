using GpuCnn.Devices;

namespace GpuCnn.Distributed;

/// <summary>Which device a rank takes when the command line names none.</summary>
public static class RankDevice
{
    /// <summary>
    /// <c>cuda:&lt;local rank&gt;</c> where usable CUDA devices exist (wrapping around when a machine has more ranks
    /// than GPUs), else the CPU accelerator: ranks on one machine then share its cores. OpenCL is not chosen, since
    /// the ranks would contend for one platform's devices in an order nothing fixes.
    /// </summary>
    public static string Default(int localRank, IReadOnlyList<DeviceInfo> devices)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(localRank);
        var cuda = devices.Where(d => d.Kind == DeviceKind.Cuda && d.Usable).Select(d => d.Index).OrderBy(i => i).ToList();
        return cuda.Count > 0 ? $"cuda:{cuda[localRank % cuda.Count]}" : "cpu";
    }
}

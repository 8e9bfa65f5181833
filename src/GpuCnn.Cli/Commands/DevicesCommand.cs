using System.CommandLine;
using GpuCnn.Devices;

namespace GpuCnn.Cli.Commands;

/// <summary><c>gpucnn devices</c>: every ILGPU device, and why any is skipped.</summary>
static class DevicesCommand
{
    public static Command Create(TextWriter o)
    {
        var c = new Command("devices", "List every ILGPU device, and why any is skipped.");
        c.SetAction(p =>
        {
            if (p.UnmatchedTokens.Count > 0) throw new UsageException("'devices' takes no arguments");
            var best = DeviceManager.Best();
            o.WriteLine($"{"id",-10} {"name",-48} {"memory",10}  status");
            foreach (var d in DeviceManager.List())
            {
                string mem = d.MemoryBytes > 0 ? $"{d.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB" : "host";
                string status = !d.Usable ? $"skipped: {d.Reason}" : d == best ? "usable (best)" : "usable";
                o.WriteLine($"{d.Id,-10} {Truncate(d.Name, 48),-48} {mem,10}  {status}");
            }
            return 0;
        });
        return c;
    }

    static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}

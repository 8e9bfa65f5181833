using System.Buffers.Binary;
using System.Text;

namespace GpuCnn.TorchCompare;

/// <summary>
/// Makes TorchSharp 0.107's native shim load on a C++ runtime older than the one it was built with. The shim asks for
/// <c>GLIBCXX_3.4.32</c> (GCC 13) for one symbol, <c>_ZSt21ios_base_library_initv</c>, which it never calls; marking
/// that version requirement weak (VER_FLG_WEAK in its <c>.gnu.version_r</c> entry) lets the dynamic loader accept the
/// older runtime. Only the copy in this program's build output is changed, never the NuGet cache.
/// </summary>
static class ElfPatch
{
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    /// <summary>Marks <paramref name="version"/> weak in <paramref name="path"/>; returns what it did, in words.</summary>
    public static string MakeVersionWeak(string path, string version)
    {
        byte[] f = File.ReadAllBytes(path);
        if (f.Length < 64 || f[0] != 0x7f || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F' || f[4] != 2 || f[5] != 1)
            return $"{path}: not a little-endian ELF64 file; left alone";
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(0x28));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(0x3A));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(0x3C));
        for (int s = 0; s < shnum; s++)
        {
            var sh = f.AsSpan((int)(shoff + (long)s * shentsize), shentsize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;
            long off = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[0x2C..]);
            var strSh = f.AsSpan((int)(shoff + (long)link * shentsize), shentsize);
            long strOff = (long)BinaryPrimitives.ReadUInt64LittleEndian(strSh[0x18..]);
            long need = off;
            for (int n = 0; n < count; n++)
            {
                int cnt = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan((int)need + 2));
                long aux = need + BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan((int)need + 8));
                for (int a = 0; a < cnt; a++)
                {
                    int flagsAt = (int)aux + 4;
                    long nameAt = strOff + BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan((int)aux + 8));
                    int end = Array.IndexOf(f, (byte)0, (int)nameAt);
                    string name = Encoding.ASCII.GetString(f, (int)nameAt, end - (int)nameAt);
                    if (name == version)
                    {
                        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(flagsAt));
                        if ((flags & VerFlgWeak) != 0) return $"{Path.GetFileName(path)}: {version} already weak";
                        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(flagsAt), (ushort)(flags | VerFlgWeak));
                        string tmp = path + ".tmp";
                        File.WriteAllBytes(tmp, f);
                        File.Move(tmp, path, overwrite: true);
                        return $"{Path.GetFileName(path)}: marked {version} weak (byte at 0x{flagsAt:x})";
                    }
                    aux += BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan((int)aux + 12));
                }
                need += BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan((int)need + 12));
            }
        }
        return $"{Path.GetFileName(path)}: no {version} requirement; left alone";
    }
}

namespace GpuCnn.Graphs;

/// <summary>A buffer to place: its size and the steps during which it must hold its value.</summary>
public sealed class PlannedBuffer
{
    /// <summary>Creates a buffer request.</summary>
    public PlannedBuffer(string name, long size) { Name = name; Size = size; }
    /// <summary>For diagnostics.</summary>
    public string Name { get; }
    /// <summary>Elements.</summary>
    public long Size { get; }
    /// <summary>First step that touches it.</summary>
    public int First { get; set; } = int.MaxValue;
    /// <summary>Last step that touches it.</summary>
    public int Last { get; set; } = int.MinValue;
    /// <summary>Assigned offset in the arena (elements).</summary>
    public long Offset { get; set; } = -1;

    /// <summary>Extends the lifetime to cover <paramref name="step"/>.</summary>
    public void Touch(int step)
    {
        if (step < First) First = step;
        if (step > Last) Last = step;
    }
}

/// <summary>
/// Places buffers in one arena so that buffers whose lifetimes overlap never share memory, and others may.
/// Greedy by size (largest first), each at the lowest offset that fits: the classic offset-assignment heuristic
/// of TFLite's and ONNX Runtime's arena planners.
/// </summary>
public static class MemoryPlanner
{
    /// <summary>Alignment of every offset, in elements (256 bytes for float).</summary>
    public const long Alignment = 64;

    /// <summary>Assigns offsets and returns the arena size in elements.</summary>
    public static long Plan(IReadOnlyList<PlannedBuffer> buffers)
    {
        var placed = new List<PlannedBuffer>();
        long arena = 0;
        foreach (var b in buffers.OrderByDescending(b => b.Size).ThenBy(b => b.First))
        {
            if (b.First > b.Last) { b.First = b.Last = 0; }
            var conflicts = placed.Where(p => p.First <= b.Last && b.First <= p.Last).OrderBy(p => p.Offset).ToList();
            long offset = 0;
            foreach (var c in conflicts)
            {
                if (offset + b.Size <= c.Offset) break;
                offset = Math.Max(offset, Align(c.Offset + c.Size));
            }
            b.Offset = offset;
            placed.Add(b);
            arena = Math.Max(arena, Align(offset + b.Size));
        }
        return arena;
    }

    static long Align(long x) => (x + Alignment - 1) / Alignment * Alignment;
}

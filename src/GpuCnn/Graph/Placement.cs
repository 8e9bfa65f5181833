namespace GpuCnn.Graphs;

/// <summary>
/// Assigns graph nodes to devices (indices into the executor's device list), like cuda-convnet2's per-layer
/// <c>gpu=</c>. The executor turns every edge between nodes on different devices into a transfer.
/// </summary>
public static class Placement
{
    /// <summary>The placements the CLI accepts.</summary>
    public const string Help = "single, towers, or NODE=DEVICE[,NODE=DEVICE...] (a node and everything after it in graph order moves to DEVICE)";

    /// <summary>Every node on device 0.</summary>
    public static void Single(Graph graph)
    {
        foreach (var n in graph.Nodes) n.Device = 0;
    }

    /// <summary>
    /// Parallel branches on separate devices: a node of tower t goes to device t mod <paramref name="devices"/>;
    /// nodes outside any tower (inputs, shared layers) go to device 0.
    /// </summary>
    /// <exception cref="ArgumentException">The graph has no towers.</exception>
    public static void Towers(Graph graph, int devices)
    {
        if (devices <= 0) throw new ArgumentException("towers placement needs at least one device");
        if (!graph.Nodes.Any(n => n.Tower is not null))
            throw new ArgumentException($"model '{graph.Name}' has no towers to place; use a two-tower model such as alexnet-2tower, or NODE=DEVICE placement");
        foreach (var n in graph.Nodes) n.Device = n.Tower is int t ? t % devices : 0;
    }

    /// <summary>
    /// Cuts the graph: each <c>NODE=DEVICE</c> moves that node and every node added after it to DEVICE (later entries
    /// override earlier ones). Nodes before the first cut stay on device 0.
    /// </summary>
    public static void Cuts(Graph graph, IEnumerable<(string Node, int Device)> cuts)
    {
        Single(graph);
        foreach (var (name, device) in cuts)
        {
            var start = graph[name];
            foreach (var n in graph.Nodes.Where(n => n.Id >= start.Id)) n.Device = device;
        }
    }

    /// <summary>Applies a placement spec (see <see cref="Help"/>) for <paramref name="devices"/> devices.</summary>
    public static void Apply(Graph graph, string spec, int devices)
    {
        spec = spec.Trim();
        if (spec is "" or "single") Single(graph);
        else if (spec == "towers") Towers(graph, devices);
        else
        {
            var cuts = new List<(string, int)>();
            foreach (var part in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int eq = part.LastIndexOf('=');
                if (eq <= 0 || !int.TryParse(part[(eq + 1)..], out int d))
                    throw new ArgumentException($"bad placement '{part}'; valid placements: {Help}");
                if (d < 0 || d >= devices)
                    throw new ArgumentException($"placement '{part}' names device {d}, but {devices} device(s) were given");
                string node = part[..eq];
                if (!graph.Nodes.Any(n => n.Name == node))
                    throw new ArgumentException($"placement '{part}': model '{graph.Name}' has no node '{node}'");
                cuts.Add((node, d));
            }
            Cuts(graph, cuts);
        }
        foreach (var n in graph.Nodes)
            if (n.Device >= devices)
                throw new ArgumentException($"node '{n.Name}' is placed on device {n.Device}, but {devices} device(s) were given");
    }
}

using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Graphs;

/// <summary>
/// A model as a directed acyclic graph of layers. Nodes are added after their inputs, shapes are inferred and
/// checked as each node is added, and every layer gets a unique name (conv1, relu2, ...).
/// <code>
/// var g = new Graph();
/// var x = g.Input(new Shape(1, 28, 28));
/// var h = g.Add(new Conv2d(1, 6, 5, padding: 2), x);
/// g.Output = g.Add(new Linear(6 * 28 * 28, 10), g.Add(new Flatten(), g.Add(new ReLU(), h)));
/// </code>
/// </summary>
public class Graph
{
    readonly List<Node> nodes = new();
    readonly HashSet<string> names = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> counters = new(StringComparer.Ordinal);
    Node? output;

    /// <summary>Model name (used in summaries and checkpoints).</summary>
    public string Name { get; set; } = "model";

    /// <summary>All nodes in the order added (a topological order).</summary>
    public IReadOnlyList<Node> Nodes => nodes;

    /// <summary>The graph inputs.</summary>
    public IReadOnlyList<Node> Inputs => nodes.Where(n => n.IsInput).ToList();

    /// <summary>The node whose output the model produces (the last node added unless set).</summary>
    public Node Output
    {
        get => output ?? (nodes.Count > 0 ? nodes[^1] : throw new InvalidOperationException("the graph is empty"));
        set
        {
            if (!nodes.Contains(value)) throw new ArgumentException($"node {value.Name} is not in this graph");
            output = value;
        }
    }

    /// <summary>Adds a graph input with a per-sample shape, e.g. [1, 28, 28].</summary>
    public Node Input(Shape sampleShape, string name = "input")
    {
        var node = new Node(nodes.Count, Unique(name, explicitName: true), null, Array.Empty<Node>(), sampleShape);
        nodes.Add(node);
        return node;
    }

    /// <summary>Applies <paramref name="layer"/> to <paramref name="inputs"/>; infers and checks the output shape.</summary>
    /// <exception cref="ShapeMismatchException">An input shape does not fit the layer.</exception>
    public Node Add(Layer layer, params Node[] inputs)
    {
        ArgumentNullException.ThrowIfNull(layer);
        foreach (var i in inputs)
            if (!nodes.Contains(i)) throw new ArgumentException($"{layer.Describe()}: input node {i.Name} is not in this graph");
        if (nodes.Any(n => ReferenceEquals(n.Layer, layer)))
            throw new ArgumentException($"{layer.Describe()} is already in the graph; create a new layer to apply it twice");
        string name = Unique(string.IsNullOrEmpty(layer.Name) ? layer.TypeName.ToLowerInvariant() : layer.Name,
            explicitName: !string.IsNullOrEmpty(layer.Name));
        layer.Name = name;
        var shape = layer.InferOutputShape(inputs.Select(i => i.Shape).ToList());
        var node = new Node(nodes.Count, name, layer, inputs, shape);
        // By default a node runs where its first input runs.
        if (inputs.Length > 0) node.Device = inputs[0].Device;
        nodes.Add(node);
        return node;
    }

    string Unique(string baseName, bool explicitName)
    {
        if (explicitName)
        {
            if (!names.Add(baseName)) throw new ArgumentException($"duplicate node name '{baseName}'");
            return baseName;
        }
        counters.TryGetValue(baseName, out int c);
        string name;
        do name = $"{baseName}{++c}"; while (names.Contains(name));
        counters[baseName] = c;
        names.Add(name);
        return name;
    }

    /// <summary>Finds a node by name.</summary>
    public Node this[string name] =>
        nodes.FirstOrDefault(n => n.Name == name) ?? throw new KeyNotFoundException($"no node named '{name}'");

    /// <summary>Layers in graph order.</summary>
    public IEnumerable<Layer> Layers => nodes.Where(n => n.Layer is not null).Select(n => n.Layer!);

    /// <summary>All parameters in graph order (the checkpoint order).</summary>
    public IReadOnlyList<Parameter> Parameters => Layers.SelectMany(l => l.Parameters).ToList();

    /// <summary>Total number of trainable values (buffers such as running statistics excluded, as in PyTorch).</summary>
    public long ParameterCount => Parameters.Where(p => p.Trainable).Sum(p => p.Shape.Size);

    /// <summary>The nodes the output depends on, in a topological order (Kahn's algorithm, ties by insertion).</summary>
    public IReadOnlyList<Node> TopologicalOrder()
    {
        var live = new HashSet<Node>();
        var stack = new Stack<Node>();
        stack.Push(Output);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (!live.Add(n)) continue;
            foreach (var i in n.Inputs) stack.Push(i);
        }
        var indegree = live.ToDictionary(n => n, n => n.Inputs.Count);
        var consumers = live.ToDictionary(n => n, _ => new List<Node>());
        foreach (var n in live)
            foreach (var i in n.Inputs) consumers[i].Add(n);
        var ready = new SortedSet<int>(live.Where(n => indegree[n] == 0).Select(n => n.Id));
        var order = new List<Node>();
        while (ready.Count > 0)
        {
            var n = nodes[ready.Min];
            ready.Remove(ready.Min);
            order.Add(n);
            foreach (var c in consumers[n])
                if (--indegree[c] == 0) ready.Add(c.Id);
        }
        if (order.Count != live.Count) throw new InvalidOperationException("the graph has a cycle");
        return order;
    }
}

using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Graphs;

/// <summary>A node of a model graph: a graph input or a layer applied to earlier nodes.</summary>
public sealed class Node
{
    internal Node(int id, string name, Layer? layer, Node[] inputs, Shape shape)
    {
        Id = id;
        Name = name;
        Layer = layer;
        Inputs = inputs;
        Shape = shape;
    }

    /// <summary>Position in the order nodes were added.</summary>
    public int Id { get; }
    /// <summary>Unique name (the layer's name, or the input's).</summary>
    public string Name { get; }
    /// <summary>The layer, or null for a graph input.</summary>
    public Layer? Layer { get; }
    /// <summary>Producers of this node's inputs.</summary>
    public IReadOnlyList<Node> Inputs { get; }
    /// <summary>Per-sample output shape (no batch dimension).</summary>
    public Shape Shape { get; }
    /// <summary>True for a graph input.</summary>
    public bool IsInput => Layer is null;

    /// <summary>
    /// Index of the device this node runs on, into the device list given to the executor (0 by default). An edge
    /// between nodes on different devices becomes a transfer step.
    /// </summary>
    public int Device { get; set; }

    /// <summary>
    /// The parallel branch this node belongs to (0, 1, ... for AlexNet's two towers), or null for shared nodes. A
    /// <c>towers</c> placement puts each tower on its own device.
    /// </summary>
    public int? Tower { get; set; }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}{Shape}";
}

using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Graphs;

/// <summary>A chain of layers: the simple case of <see cref="Graph"/>, like <c>torch.nn.Sequential</c>.</summary>
public sealed class Sequential : Graph
{
    /// <summary>Builds the chain on an input of per-sample shape <paramref name="inputShape"/>.</summary>
    public Sequential(Shape inputShape, params Layer[] layers)
    {
        var x = Input(inputShape);
        foreach (var l in layers) x = Add(l, x);
    }

    /// <summary>Appends a layer after the current output.</summary>
    public Sequential Then(Layer layer)
    {
        Output = Add(layer, Output);
        return this;
    }
}

using GpuCnn.Layers;

namespace GpuCnn.Graphs;

public sealed partial class Executor
{
    Layer?[]? backwardLayers;

    /// <summary>
    /// Called on the training thread during <see cref="Backward"/>, right after each layer's backward step has been
    /// queued, with that layer: its parameter gradients are final once its device's stream reaches this point. Data
    /// parallelism uses it to start reducing a bucket of gradients while the earlier layers still run backward.
    /// </summary>
    public Action<Layer>? GradientsReady { get; set; }

    void NotifyGradientsReady(int step)
    {
        backwardLayers ??= Plan.Steps.Select(s => (s as PlannedBackward)?.Node.Layer).ToArray();
        if (backwardLayers[step] is { } layer) GradientsReady!(layer);
    }
}

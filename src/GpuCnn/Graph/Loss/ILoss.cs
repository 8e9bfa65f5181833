using GpuCnn.Devices;
using ILGPU;

namespace GpuCnn.Graphs;

/// <summary>
/// A loss on a graph's output, computed on the output's device: from the output and the batch's targets it writes
/// the gradient of the loss with respect to the output and adds the batch's figures to statistics kept on the device,
/// so training never waits for the host. An <see cref="Executor"/> holds one (see <see cref="ExecutorOptions.Loss"/>).
/// </summary>
public interface ILoss : IDisposable
{
    /// <summary>
    /// Allocates the loss's buffers (targets, per-row results, statistics) for <paramref name="batch"/> rows of
    /// <paramref name="output"/> on <paramref name="device"/>. Called once, before anything else.
    /// </summary>
    void Prepare(ComputeDevice device, Node output, int batch);

    /// <summary>Uploads the batch's targets (one per row); a target &lt; 0 marks a padding row, which the loss ignores.</summary>
    void SetTargets(ReadOnlySpan<int> targets);

    /// <summary>Targets in the last batch that are not padding.</summary>
    int ValidTargets { get; }

    /// <summary>Queues the loss: writes d loss / d output into <paramref name="gradient"/> and adds to the statistics.</summary>
    void Run(ArrayView<float> output, ArrayView<float> gradient);

    /// <summary>Downloads the per-row loss of the last <see cref="Run"/> (0 for padding rows).</summary>
    float[] GetRowLosses();

    /// <summary>Downloads and clears the statistics accumulated since the last call: summed loss, correct and sample counts.</summary>
    (double LossSum, double Correct, double Count) ReadStatistics();
}

using ILGPU.Runtime;
using GpuCnn.Tensors;

namespace GpuCnn.Graphs;

/// <summary>One image's top classes: class indices and their softmax probabilities, most likely first.</summary>
/// <param name="Classes">Class indices.</param>
/// <param name="Probabilities">Softmax probabilities of those classes.</param>
public sealed record Prediction(int[] Classes, float[] Probabilities);

public sealed partial class Executor
{
    /// <summary>Switches to training mode (dropout, batch statistics) here and in every cached batch size.</summary>
    public Executor Train()
    {
        TrainingMode = true;
        foreach (var ex in byBatch.Values) ex.TrainingMode = true;
        return this;
    }

    /// <summary>Switches to evaluation mode (no dropout, running statistics) here and in every cached batch size.</summary>
    public Executor Eval()
    {
        TrainingMode = false;
        foreach (var ex in byBatch.Values) ex.TrainingMode = false;
        return this;
    }

    /// <summary>
    /// Runs the graph on <paramref name="input"/> ([batch, ...sample], any batch size) and returns the output as a
    /// new tensor on the output's device (dispose it to return its memory to the pool). The batch size's executor
    /// (<see cref="ForBatchSize"/>) shares this one's parameters and takes its mode.
    /// </summary>
    public Tensor Forward(Tensor input)
    {
        var sample = Plan.Inputs.Count == 1 ? Plan.Inputs[0].Node.Shape
            : throw new InvalidOperationException($"the graph has {Plan.Inputs.Count} inputs; use SetInput for each");
        var s = input.Shape;
        if (s.Rank != sample.Rank + 1 || s[0] <= 0 || !s.ToArray()[1..].AsSpan().SequenceEqual(sample.ToArray()))
            throw new ShapeMismatchException($"input '{Plan.Inputs[0].Node.Name}'", $"[batch, {string.Join(", ", sample.ToArray())}]", s.ToString());
        var ex = ForBatchSize(s[0]);
        ex.TrainingMode = TrainingMode;
        ex.Upload(input);
        ex.Forward();
        int buffer = ex.Plan.Activation(ex.Plan.Output);
        var device = ex.memory.DeviceOf(buffer);
        var output = Tensor.Zeros(device, ex.Plan.Output.Shape.WithBatch(s[0]));
        ex.memory.View(buffer).CopyTo(device.Stream, output.View);
        return output;
    }

    void Upload(Tensor input)
    {
        var planned = Plan.Inputs[0];
        float[]? host = null;
        for (int k = 0; k < planned.Uploads.Count; k++)
        {
            var target = memory.View(planned.Uploads[k]);
            var device = memory.DeviceOf(planned.Uploads[k]);
            if (ReferenceEquals(device, input.Device))
            {
                input.View.CopyTo(device.Stream, target);
                continue;
            }
            // Another device: through the host, as SetInput uploads.
            host ??= input.ToArray();
            uploads[0][k].Upload(host, target);
        }
    }

    /// <summary>The parameters and buffers with torchvision's keys (<see cref="Serialization.StateDict.Of"/>).</summary>
    public Serialization.StateDict StateDict() => Serialization.StateDict.Of(Parameters);

    /// <summary>Loads a state dict (<see cref="Serialization.StateDict.LoadInto"/>): shapes must match; with <paramref name="strict"/> keys too.</summary>
    public Serialization.StateDictReport LoadStateDict(Serialization.StateDict dict, bool strict = true) => dict.LoadInto(Parameters, strict);

    /// <summary>
    /// Classifies a batch in evaluation mode: the <paramref name="k"/> most likely classes of each image with their
    /// softmax probabilities. The executor's mode is restored afterwards.
    /// </summary>
    public Prediction[] Predict(Tensor images, int k = 5)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"k must be positive, got {k}");
        bool training = TrainingMode;
        TrainingMode = false;
        float[] logits;
        try
        {
            using var output = Forward(images);
            logits = output.ToArray();
        }
        finally { TrainingMode = training; }
        int n = images.Shape[0], classes = logits.Length / n;
        k = Math.Min(k, classes);
        var result = new Prediction[n];
        for (int i = 0; i < n; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            var top = Enumerable.Range(0, classes).OrderByDescending(c => logits[i * classes + c]).ThenBy(c => c).Take(k).ToArray();
            result[i] = new Prediction(top, top.Select(c => (float)(Math.Exp(logits[i * classes + c] - max) / sum)).ToArray());
        }
        return result;
    }
}

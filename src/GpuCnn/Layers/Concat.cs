using GpuCnn.Devices;
using GpuCnn.Kernels.Elementwise;
using GpuCnn.Tensors;

namespace GpuCnn.Layers;

/// <summary>
/// Concatenation along channels (<c>torch.cat(xs, dim=1)</c>), as in Inception blocks and AlexNet's merged towers:
/// y[n, o_i + c] = x_i[n, c]; dx_i[n, c] = dy[n, o_i + c]. Inputs must agree in every dimension but the first.
/// </summary>
public sealed class Concat : Layer
{
    readonly int inputs;
    Kernel<CopyChannelsArgs>? copy;

    /// <summary>Creates the layer for <paramref name="inputs"/> inputs (at least 2).</summary>
    public Concat(int inputs = 2, string? name = null) : base(name)
    {
        if (inputs < 2) throw new ArgumentException($"Concat needs at least 2 inputs, got {inputs}");
        this.inputs = inputs;
    }

    /// <inheritdoc/>
    public override string TypeName => "Concat";
    /// <inheritdoc/>
    public override int InputCount => inputs;
    /// <inheritdoc/>
    public override bool BackwardNeedsInputs => false;

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> shapes)
    {
        var first = shapes[0].ToArray();
        int channels = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            var s = shapes[i].ToArray();
            if (s.Length != first.Length || !s.AsSpan(1).SequenceEqual(first.AsSpan(1)))
                throw Mismatch($"[*, {string.Join(", ", first[1..])}]", shapes[i], $"input {i} must match input 0 except in channels");
            channels += s[0];
        }
        first[0] = channels;
        return new Shape(first);
    }

    static int Plane(Shape full) => (int)(full.Size / (full[0] * full[1]));

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device) =>
        copy = device.LoadKernel<CopyChannelsArgs>(TensorKernels.CopyChannels);

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        int total = io.Output.Shape[1], plane = Plane(io.Output.Shape), offset = 0;
        foreach (var x in io.Inputs)
        {
            int c = x.Shape[1];
            var s = new ChannelSlice { Plane = plane, Count = c, SrcChannels = c, DstChannels = total, SrcOffset = 0, DstOffset = offset }.Prepare();
            copy!.Launch(x.Size, new() { Slice = s, Src = x.View, Dst = io.Output.View, Beta = 0f });
            offset += c;
        }
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        int total = io.Output.Shape[1], plane = Plane(io.Output.Shape), offset = 0;
        for (int i = 0; i < io.Inputs.Length; i++)
        {
            int c = io.Inputs[i].Shape[1];
            if (!io.GradInputs[i].IsEmpty)
            {
                var s = new ChannelSlice { Plane = plane, Count = c, SrcChannels = total, DstChannels = c, SrcOffset = offset, DstOffset = 0 }.Prepare();
                copy!.Launch(io.Inputs[i].Size, new() { Slice = s, Src = io.GradOutput.View, Dst = io.GradInputs[i].View, Beta = io.GradInputBeta[i] });
            }
            offset += c;
        }
    }
}

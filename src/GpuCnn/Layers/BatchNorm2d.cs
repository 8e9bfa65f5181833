using System.Collections.Concurrent;
using GpuCnn.Devices;
using GpuCnn.Kernels.Norm;
using GpuCnn.Tensors;
using ILGPU;
using ILGPU.Runtime;

namespace GpuCnn.Layers;

/// <summary>
/// Batch normalisation over the channels of NCHW input, as <c>torch.nn.BatchNorm2d</c>: batch statistics in
/// training (updating running_mean and running_var with <see cref="Momentum"/>), running statistics in eval;
/// y = γ (x − μ)/√(σ² + ε) + β (see <see cref="BatchNormKernels"/> for the backward formulas). γ and β are
/// trainable; running_mean and running_var are buffers: checkpointed, not optimised, not counted as parameters.
/// </summary>
public sealed class BatchNorm2d : Layer
{
    readonly ConcurrentDictionary<ComputeDevice, MemoryBuffer1D<float, Stride1D.Dense>> scratch = new();
    Kernel<BatchNormStatsArgs>? batchStats;
    Kernel<BatchNormRunningStatsArgs>? runningStats;
    Kernel<BatchNormNormalizeArgs>? normalize;
    Kernel<BatchNormReduceArgs>? reduce;
    Kernel<BatchNormDataArgs>? data;

    /// <summary>Creates the layer for <paramref name="channels"/> channels.</summary>
    public BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f, string? name = null) : base(name)
    {
        if (channels <= 0) throw new ArgumentException($"BatchNorm2d: channels must be positive, got {channels}");
        Channels = channels;
        Eps = eps;
        Momentum = momentum;
        Weight = AddParameter("weight", new Shape(channels), Init.Ones, channels, channels, noWeightDecay: true);
        Bias = AddParameter("bias", new Shape(channels), Init.Zeros, channels, channels, noWeightDecay: true);
        RunningMean = AddBuffer("running_mean", new Shape(channels), Init.Zeros);
        RunningVar = AddBuffer("running_var", new Shape(channels), Init.Ones);
    }

    /// <summary>Channels.</summary>
    public int Channels { get; }
    /// <summary>ε.</summary>
    public float Eps { get; }
    /// <summary>Running-statistics momentum.</summary>
    public float Momentum { get; }
    /// <summary>γ.</summary>
    public Parameter Weight { get; }
    /// <summary>β.</summary>
    public Parameter Bias { get; }
    /// <summary>Running mean (buffer).</summary>
    public Parameter RunningMean { get; }
    /// <summary>Running variance (buffer, unbiased batch variances).</summary>
    public Parameter RunningVar { get; }

    /// <summary>Training forward passes run so far (PyTorch's <c>num_batches_tracked</c>, kept on the host).</summary>
    public long NumBatchesTracked { get; set; }

    /// <inheritdoc/>
    public override string TypeName => "BatchNorm2d";

    /// <inheritdoc/>
    protected override Shape ComputeOutputShape(IReadOnlyList<Shape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 3 || x[0] != Channels) throw Mismatch($"[{Channels}, H, W]", x, $"num_features={Channels}");
        return x;
    }

    /// <inheritdoc/>
    public override long ForwardMacs(IReadOnlyList<Shape> inputs, Shape output) => 2 * output.Size;

    BatchNormParams Geometry(Shape s) => new BatchNormParams() { N = s[0], C = Channels, Plane = s[2] * s[3], Eps = Eps, Momentum = Momentum }.Prepare();

    /// <inheritdoc/>
    protected override void LoadKernels(ComputeDevice device)
    {
        batchStats = device.LoadKernel<BatchNormStatsArgs>(BatchNormKernels.BatchStats);
        runningStats = device.LoadKernel<BatchNormRunningStatsArgs>(BatchNormKernels.RunningStats);
        normalize = device.LoadKernel<BatchNormNormalizeArgs>(BatchNormKernels.Normalize);
        reduce = device.LoadKernel<BatchNormReduceArgs>(BatchNormKernels.BackwardReduce);
        data = device.LoadKernel<BatchNormDataArgs>(BatchNormKernels.BackwardData);
        // Per-channel statistics shared by forward and backward of the same step: [mean | invstd | Σdy | Σdy·x̂].
        scratch.GetOrAdd(device, d => d.Allocate<float>(4 * Channels));
    }

    /// <inheritdoc/>
    protected override void ForwardCore(LayerIO io)
    {
        var p = Geometry(io.Inputs[0].Shape);
        var stats = scratch[Device].View;
        if (io.Training) NumBatchesTracked++;
        if (io.Training)
            batchStats!.Launch(Channels, new()
            {
                Geometry = p, X = io.Inputs[0].View, Stats = stats, RunningMean = RunningMean.Value, RunningVar = RunningVar.Value,
            });
        else
            runningStats!.Launch(Channels, new() { Geometry = p, Stats = stats, RunningMean = RunningMean.Value, RunningVar = RunningVar.Value });
        normalize!.Launch(io.Output.Size, new()
        {
            Geometry = p, X = io.Inputs[0].View, Stats = stats, Gamma = Weight.Value, Shift = Bias.Value, Y = io.Output.View,
        });
    }

    /// <inheritdoc/>
    protected override void BackwardCore(LayerIO io)
    {
        // The statistics of this step's forward pass are still in the scratch buffer: backward follows forward
        // with no other forward of this layer in between.
        var p = Geometry(io.Inputs[0].Shape);
        var stats = scratch[Device].View;
        reduce!.Launch(Channels, new()
        {
            Geometry = p, X = io.Inputs[0].View, Dy = io.GradOutput.View, Stats = stats, DGamma = Weight.Grad, DShift = Bias.Grad,
            ParamBeta = io.ParamGradBeta,
        });
        if (!io.GradInputs[0].IsEmpty)
            data!.Launch(io.Output.Size, new()
            {
                Geometry = p, X = io.Inputs[0].View, Dy = io.GradOutput.View, Stats = stats, Gamma = Weight.Value,
                Training = io.Training ? 1 : 0, Dx = io.GradInputs[0].View, Beta = io.GradInputBeta[0],
            });
    }
}

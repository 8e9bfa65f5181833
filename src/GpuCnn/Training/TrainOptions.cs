namespace GpuCnn.Training;

/// <summary>Hyper-parameters of a training run (defaults train LeNet-5 on MNIST well).</summary>
public sealed record TrainOptions
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Samples per optimiser step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Base learning rate.</summary>
    public float LearningRate { get; init; } = 0.01f;
    /// <summary>SGD momentum.</summary>
    public float Momentum { get; init; } = 0.9f;
    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; init; } = 5e-4f;
    /// <summary>Seed of initialisation and shuffling.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Optimiser: sgd, adam or adamw.</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>Nesterov momentum (SGD only).</summary>
    public bool Nesterov { get; init; }
    /// <summary>Apply weight decay to biases and normalisation parameters too (PyTorch's default).</summary>
    public bool DecayBiases { get; init; } = true;
    /// <summary>
    /// Learning-rate schedule spec (see <see cref="Optimizers.Schedules.Parse"/>: constant, step:N[:gamma],
    /// multistep:a,b[:gamma], cosine[:etaMin], optionally warmup:N+...). Null uses <see cref="LrStepEpochs"/> and <see cref="LrGamma"/>.
    /// </summary>
    public string? Schedule { get; init; }
    /// <summary>Epochs between learning-rate decays (0: constant rate).</summary>
    public int LrStepEpochs { get; init; } = 4;
    /// <summary>Decay factor of the step schedule.</summary>
    public float LrGamma { get; init; } = 0.3f;
    /// <summary>Input normalisation: (x − mean) / std (MNIST's statistics by default).</summary>
    public float Mean { get; init; } = 0.1307f;
    /// <summary>See <see cref="Mean"/>.</summary>
    public float Std { get; init; } = 0.3081f;
    /// <summary>Stop after this many optimiser steps in total (0: no limit).</summary>
    public long MaxSteps { get; init; }
    /// <summary>
    /// Per-sample transform of training images (augmentation and normalisation); when set, <see cref="Mean"/> and
    /// <see cref="Std"/> are not applied to training batches.
    /// </summary>
    public Data.Augmentation? TrainTransform { get; init; }
    /// <summary>Per-sample transform of evaluation images (normalisation only, usually); replaces Mean/Std when set.</summary>
    public Data.Augmentation? EvalTransform { get; init; }
    /// <summary>Threads that fill each batch when a transform is set (0: one per core).</summary>
    public int LoaderWorkers { get; init; }
    /// <summary>Fuse each ReLU into the convolution or linear layer before it (see <see cref="Graphs.ExecutorOptions.FuseActivations"/>).</summary>
    public bool FuseActivations { get; init; } = true;
    /// <summary>
    /// Replay each training step as a captured CUDA graph (one launch per step) where the device, the optimiser and
    /// the graph allow it; see <see cref="Trainer.CudaGraphProblem"/>. Off by default.
    /// </summary>
    public bool CudaGraphs { get; init; }
    /// <summary>
    /// A safetensors state dict (torchvision's keys) to start from instead of the seed's initial weights; loaded
    /// strictly, so every missing or unexpected key and every shape mismatch is an error.
    /// </summary>
    public string? InitFrom { get; init; }
    /// <summary>What to do when a step's loss, gradients or updated weights are not finite (see <see cref="NonFiniteGuard"/>).</summary>
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;
    /// <summary>Clip the gradients to this global L2 norm before each update, as PyTorch's clip_grad_norm_ (0: no clipping).</summary>
    public float ClipGradNorm { get; init; }
    /// <summary>
    /// Micro-batches of <see cref="BatchSize"/> whose gradients are accumulated into one optimiser step (their mean,
    /// so K micro-batches of B step as one batch of K·B would); 1: none. See <see cref="Distributed.DataParallel"/>.
    /// </summary>
    public int GradAccum { get; init; } = 1;
    /// <summary>
    /// The processes that train this model together (<see cref="Distributed.Communicator.FromEnvironment"/>); each
    /// takes its own shard of every global batch, and <see cref="BatchSize"/> is per process. Null: this process alone.
    /// </summary>
    public Distributed.ICommunicator? Communicator { get; init; }
}

/// <summary>What one epoch produced.</summary>
/// <param name="Epoch">One-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss over the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy over the epoch (0–1).</param>
/// <param name="TestLoss">Mean loss on the held-out set (NaN if none).</param>
/// <param name="TestAccuracy">Accuracy on the held-out set (NaN if none).</param>
/// <param name="ImagesPerSecond">Training throughput (evaluation excluded).</param>
/// <param name="Seconds">Training time of the epoch.</param>
/// <param name="LearningRate">Rate used during the epoch.</param>
/// <param name="Steps">Optimiser steps in the epoch.</param>
public sealed record EpochResult(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy,
    double ImagesPerSecond, double Seconds, float LearningRate, int Steps);

/// <summary>Progress within an epoch.</summary>
/// <param name="Epoch">One-based epoch.</param>
/// <param name="Epochs">Total epochs.</param>
/// <param name="Step">Batches done in this epoch.</param>
/// <param name="Steps">Batches in this epoch.</param>
/// <param name="Loss">Mean loss so far in this epoch.</param>
/// <param name="Accuracy">Accuracy so far in this epoch.</param>
/// <param name="ImagesPerSecond">Throughput so far.</param>
public readonly record struct TrainProgress(int Epoch, int Epochs, int Step, int Steps, double Loss, double Accuracy, double ImagesPerSecond);

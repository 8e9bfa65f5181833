using GpuCnn.Data;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Models;
using GpuCnn.Optimizers;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>Modules: named children, dotted names, composition by subclassing, modes, and the zoo's ResNet as modules.</summary>
public class ModuleTests
{
    /// <summary>A user's residual block, written as a PyTorch user would: children in the constructor, wiring in Forward.</summary>
    sealed class Residual : Module
    {
        readonly Conv2d conv;
        readonly BatchNorm2d bn;

        public Residual(int channels)
        {
            conv = AddLayer("conv", new Conv2d(channels, channels, 3, 1, 1, bias: false));
            bn = AddLayer("bn", new BatchNorm2d(channels));
        }

        public override Node Forward(Node x) => Relu(Apply(new Add(2, Qualify("add")), Apply(bn, Apply(conv, x)), x), "relu");
    }

    sealed class Net : Module
    {
        readonly Conv2d stem;
        readonly Module blocks;
        readonly Linear head;

        public Net(int classes)
        {
            stem = AddLayer("stem", new Conv2d(1, 4, 3, 1, 1));
            blocks = AddModule("blocks", new SequentialModule(new Residual(4), new Residual(4)));
            head = AddLayer("head", new Linear(4, classes));
        }

        public override Node Forward(Node x)
        {
            x = blocks.Forward(Relu(Apply(stem, x), "relu"));
            return Apply(head, Apply(new Flatten(Qualify("flatten")), Apply(new GlobalAvgPool2d(Qualify("pool")), x)));
        }
    }

    [Fact]
    public void A_module_tree_has_named_children_and_dotted_parameter_names()
    {
        var net = new Net(3);
        Assert.Equal(new[] { "stem", "blocks", "head" }, net.NamedChildren().Select(c => c.Name));
        Assert.Equal(new[] { "0", "1" }, net.Children().ElementAt(1).NamedChildren().Select(c => c.Name));
        var g = net.Build(new Shape(1, 8, 8), "net");
        Assert.Equal(new[] { "stem.weight", "stem.bias", "blocks.0.conv.weight", "blocks.0.bn.weight", "blocks.0.bn.bias",
            "blocks.1.conv.weight", "blocks.1.bn.weight", "blocks.1.bn.bias", "head.weight", "head.bias" }, net.NamedParameters().Select(p => p.Name));
        Assert.Equal(net.NamedParameters().Select(p => p.Name), net.Parameters().Select(p => p.FullName));
        Assert.Equal(new[] { "blocks.0.bn.running_mean", "blocks.0.bn.running_var", "blocks.1.bn.running_mean", "blocks.1.bn.running_var" },
            net.NamedBuffers().Select(b => b.Name));
        Assert.Contains(g.Nodes, n => n.Name == "blocks.1.add");
        Assert.Throws<InvalidOperationException>(() => net.Build(new Shape(1, 8, 8)));
    }

    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void A_subclassed_residual_network_trains_and_its_mode_reaches_its_executors(string backend)
    {
        var dev = Backends.Get(backend);
        var data = SyntheticData.Create(64, 1, 8, 8, 3, seed: 2);
        var net = new Net(3);
        using var ex = net.ToExecutor(dev, new Shape(1, 8, 8), 16, new ExecutorOptions { Seed = 4, AccumulateGradients = true });
        var opt = new Sgd(ex.Parameters, 0.2f, momentum: 0.9f);
        var losses = new List<double>();
        for (int step = 0; step < 16; step++)
        {
            int b = step % 4;
            ex.SetInput(data.Images.AsSpan(b * 16 * 64, 16 * 64));
            ex.SetLabels(data.Labels.AsSpan(b * 16, 16));
            ex.ZeroGrad();
            ex.Forward();
            ex.ComputeLoss();
            ex.Backward();
            opt.Step();
            losses.Add(ex.ReadStatistics().LossSum / 16);
        }
        Assert.True(losses.TakeLast(4).Average() < 0.6 * losses.Take(4).Average(), $"loss {losses[0]:F3} -> {losses[^1]:F3}");
        net.Eval();
        Assert.False(net.Training);
        Assert.False(ex.TrainingMode);
        Assert.False(net.Children().ElementAt(1).Children().First().Training);
        net.Train();
        Assert.True(ex.TrainingMode);
    }

    [Fact]
    public void The_zoo_resnet_is_a_tree_of_basic_blocks_with_torchvisions_names()
    {
        var net = new ResNetModule(new[] { 2, 2, 2, 2 }, 1000);
        Assert.Equal(new[] { "conv1", "bn1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc" }, net.NamedChildren().Select(c => c.Name));
        Assert.All(net.Children().ElementAt(4).Children(), b => Assert.IsType<BasicBlock>(b));
        net.Build(new Shape(3, 224, 224), "resnet18");
        var expected = TorchvisionStateDicts.Layouts["resnet18"].Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l[..l.IndexOf(' ')]).Where(k => !k.Contains("running_") && !k.EndsWith("num_batches_tracked"));
        Assert.Equal(expected, net.NamedParameters().Select(p => p.Name));
    }
}

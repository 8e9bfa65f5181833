using GpuCnn.Devices;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Graphs;

/// <summary>
/// A PyTorch-style module: named child modules and layers, with dotted names (<c>layer1.0.conv1.weight</c>). A
/// subclass registers its children in its constructor (<see cref="AddModule"/>, <see cref="AddLayer"/>) and says in
/// <see cref="Forward"/> how they connect; <see cref="Build"/> runs that once to make the static <see cref="Graph"/>
/// (planned and memory-planned as any graph), naming every layer by its path, so initialisation and state-dict keys
/// follow the module tree. A layer given a name of its own keeps it as <see cref="Layer.Name"/> (its initialisation
/// key: the zoo models keep the weights each seed gave before they were modules) and takes its path as
/// <see cref="Layer.StateName"/> (its state-dict key). Any layer is a leaf module: <see cref="ModuleExtensions.AsModule"/>.
/// </summary>
public abstract class Module
{
    readonly List<(string Name, Module Child)> children = new();
    readonly List<Executor> executors = new();
    Graph? graph;

    /// <summary>The dotted path of this module in the tree being built ("" for the root).</summary>
    protected string Path { get; private set; } = "";

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a child module under <paramref name="name"/>; returns it.</summary>
    protected T AddModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        children.Add((name, module));
        return module;
    }

    /// <summary>Registers a layer as a leaf child under <paramref name="name"/>; returns it (apply it with <see cref="Apply"/>).</summary>
    protected T AddLayer<T>(string name, T layer) where T : Layer
    {
        CheckName(name);
        children.Add((name, new LayerModule(layer)));
        return layer;
    }

    void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.')) throw new ArgumentException($"{GetType().Name}: a child's name must be non-empty and without '.', got '{name}'");
        if (children.Any(c => c.Name == name)) throw new ArgumentException($"{GetType().Name}: duplicate child '{name}'");
    }

    /// <summary>Builds this module's part of the graph on <paramref name="x"/> and returns its output node.</summary>
    public abstract Node Forward(Node x);

    /// <summary>The graph being built (valid inside <see cref="Forward"/>).</summary>
    protected Graph Graph => graph ?? throw new InvalidOperationException($"{GetType().Name}: Forward runs inside Build");

    /// <summary>Adds a registered layer (or a stateless one made on the spot) to the graph on <paramref name="inputs"/>.</summary>
    protected Node Apply(Layer layer, params Node[] inputs) => Graph.Add(layer, inputs);

    /// <summary>A stateless ReLU named <c>{Path}.{name}</c>.</summary>
    protected Node Relu(Node x, string name) => Graph.Add(new ReLU(Qualify(name)), x);

    /// <summary><c>{Path}.{name}</c> (just <paramref name="name"/> at the root).</summary>
    protected string Qualify(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

    /// <summary>Direct children, in registration order (a layer appears as a leaf module).</summary>
    public IEnumerable<(string Name, Module Child)> NamedChildren() => children;

    /// <summary>Direct children, in registration order.</summary>
    public IEnumerable<Module> Children() => children.Select(c => c.Child);

    /// <summary>Every layer of the tree with its dotted path, depth first in registration order.</summary>
    public IEnumerable<(string Path, Layer Layer)> NamedLayers(string prefix = "")
    {
        if (this is LayerModule self) yield return (prefix, self.Layer);
        foreach (var (name, child) in children)
        {
            string path = prefix.Length == 0 ? name : $"{prefix}.{name}";
            if (child is LayerModule leaf) yield return (path, leaf.Layer);
            else foreach (var l in child.NamedLayers(path)) yield return l;
        }
    }

    /// <summary>Trainable parameters with dotted names (<c>layer1.0.conv1.weight</c>); buffers are left out, as in PyTorch.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters() =>
        NamedLayers().SelectMany(l => l.Layer.Parameters.Where(p => p.Trainable).Select(p => (Join(l.Path, p.Name), p)));

    static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    /// <summary>Trainable parameters.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Buffers (running statistics) with dotted names.</summary>
    public IEnumerable<(string Name, Parameter Buffer)> NamedBuffers() =>
        NamedLayers().SelectMany(l => l.Layer.Parameters.Where(p => !p.Trainable).Select(p => (Join(l.Path, p.Name), p)));

    /// <summary>Training mode for the tree and every executor made by <see cref="ToExecutor"/>.</summary>
    public Module Train() => SetMode(true);

    /// <summary>Evaluation mode (no dropout, running statistics) for the tree and its executors.</summary>
    public Module Eval() => SetMode(false);

    Module SetMode(bool training)
    {
        Training = training;
        foreach (var c in children) c.Child.SetMode(training);
        foreach (var ex in executors) { if (training) ex.Train(); else ex.Eval(); }
        return this;
    }

    /// <summary>
    /// Builds the graph: names each layer by its path, then runs <see cref="Forward"/> once on an input of
    /// <paramref name="sampleShape"/> (per sample, no batch dimension). A module builds one graph.
    /// </summary>
    public Graph Build(Shape sampleShape, string name = "model")
    {
        if (built is not null) throw new InvalidOperationException($"{GetType().Name} has already built its graph; create a new module for another");
        var g = new Graph { Name = name };
        Attach(g, "");
        var x = g.Input(sampleShape);
        g.Output = Forward(x);
        return built = g;
    }

    Graph? built;

    /// <summary>The graph from <see cref="Build"/>, or null.</summary>
    public Graph? BuiltGraph => built;

    void Attach(Graph g, string path)
    {
        graph = g;
        Path = path;
        foreach (var (name, child) in children)
        {
            string p = path.Length == 0 ? name : $"{path}.{name}";
            if (child is LayerModule leaf)
            {
                if (leaf.Layer.Name.Length == 0) leaf.Layer.Name = p;
                else leaf.Layer.StateName = p;
            }
            child.Attach(g, p);
        }
    }

    /// <summary>
    /// Builds the graph (once) and an executor for it, in this module's mode, with gradients that accumulate until
    /// ZeroGrad unless <paramref name="options"/> say otherwise. Other batch sizes: <see cref="Executor.Forward(Tensor)"/>.
    /// </summary>
    public Executor ToExecutor(ComputeDevice device, Shape sampleShape, int batchSize, ExecutorOptions? options = null)
    {
        var g = built ?? Build(sampleShape, GetType().Name.ToLowerInvariant());
        var ex = new Executor(g, device, batchSize, options ?? new ExecutorOptions { AccumulateGradients = true });
        if (!Training) ex.Eval();
        executors.Add(ex);
        return ex;
    }

    /// <summary>A layer as a leaf of the module tree.</summary>
    public sealed class LayerModule : Module
    {
        /// <summary>The layer <paramref name="layer"/> as a module without children.</summary>
        public LayerModule(Layer layer) => Layer = layer;

        /// <summary>The layer.</summary>
        public Layer Layer { get; }

        /// <inheritdoc/>
        public override Node Forward(Node x) => Graph.Add(Layer, x);
    }
}

/// <summary>Children applied one after another, named 0, 1, 2, ... as <c>torch.nn.Sequential</c>.</summary>
public sealed class SequentialModule : Module
{
    /// <summary>Registers <paramref name="layers"/> as children 0, 1, 2, ...</summary>
    public SequentialModule(params object[] layers)
    {
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i] is Layer l) AddLayer(i.ToString(), l);
            else if (layers[i] is Module m) AddModule(i.ToString(), m);
            else throw new ArgumentException($"SequentialModule: child {i} is neither a Layer nor a Module");
        }
    }

    /// <inheritdoc/>
    public override Node Forward(Node x)
    {
        foreach (var c in Children()) x = c.Forward(x);
        return x;
    }
}

/// <summary>Layers as modules.</summary>
public static class ModuleExtensions
{
    /// <summary>
    /// The layer as a leaf module, to build, run and train on its own (<c>new Conv2d(3, 8, 3).AsModule().ToExecutor(...)</c>)
    /// or to register as a child; its parameters are named <c>weight</c>, <c>bias</c>, ... as in PyTorch.
    /// </summary>
    public static Module.LayerModule AsModule(this Layer layer) => new(layer);
}

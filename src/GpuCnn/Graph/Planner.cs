using GpuCnn.Kernels;
using GpuCnn.Layers;

namespace GpuCnn.Graphs;

/// <summary>
/// Plans how an <see cref="Executor"/> runs a graph, touching no device: it orders the nodes topologically, fuses
/// activations into their producers where both sides allow it, schedules forward, loss and backward (backward in
/// reverse), turns every edge between nodes on different devices into a transfer (activations forward, gradients
/// backward), decides per gradient whether a step overwrites or accumulates it, and places every buffer in its
/// device's arena by lifetime (<see cref="MemoryPlanner"/>).
/// </summary>
public static class Planner
{
    /// <summary>Plans <paramref name="graph"/> for <paramref name="deviceCount"/> devices named <c>device0</c>, <c>device1</c>, ...</summary>
    public static Plan Build(Graph graph, int deviceCount, int batchSize, ExecutorOptions? options = null) =>
        Build(graph, Enumerable.Range(0, Math.Max(0, deviceCount)).Select(d => $"device{d}").ToArray(), batchSize, options);

    /// <summary>Plans <paramref name="graph"/> for the devices named by <paramref name="devices"/> (indexed by <see cref="Node.Device"/>).</summary>
    /// <exception cref="ArgumentException">A bad batch size, no devices, or a node placed on a missing device.</exception>
    public static Plan Build(Graph graph, IReadOnlyList<string> devices, int batchSize, ExecutorOptions? options = null)
    {
        if (batchSize <= 0) throw new ArgumentException($"batch size must be positive, got {batchSize}");
        if (devices.Count == 0) throw new ArgumentException("at least one device is needed");
        return new Builder(graph, devices, batchSize, options ?? new ExecutorOptions()).Build();
    }

    sealed class Slot(string name, int device, long size, BufferRole role)
    {
        public readonly PlannedBuffer Buffer = new(name, size);
        public readonly int Device = device;
        public readonly BufferRole Role = role;
        public int Grad = -1, MirrorOf = -1;
        public bool HostFed; // a graph input's copy on another device, uploaded from the host
    }

    sealed class Builder(Graph graph, IReadOnlyList<string> devices, int batch, ExecutorOptions options)
    {
        readonly IReadOnlyList<Node> order = graph.TopologicalOrder();
        readonly Node output = graph.Output;
        readonly bool training = options.Training;
        readonly List<Slot> slots = new();
        readonly List<PlanStep> steps = new();
        readonly Dictionary<Node, int> act = new();
        readonly Dictionary<Node, IReadOnlyList<int>> inputsOf = new();
        readonly Dictionary<(int Of, int Device), int> mirrors = new(); // never removed from: enumerates in creation order
        readonly HashSet<int> written = new(); // gradients some step has written, in execution order

        int NewSlot(string name, int device, long size, BufferRole role)
        {
            slots.Add(new Slot(name, device, size, role));
            return slots.Count - 1;
        }

        public Plan Build()
        {
            foreach (var n in order)
                if (n.Device < 0 || n.Device >= devices.Count)
                    throw new ArgumentException(
                        $"node '{n.Name}' is placed on device {n.Device}, but only {devices.Count} device(s) were given ({string.Join(", ", devices.Select((d, i) => $"{i}: {d}"))})");
            var (fused, epilogues) = FusibleActivations();
            PlanForward(fused, epilogues);
            PlanGradients();
            int lossIndex = steps.Count;
            int? outGrad = GradOf(act[output]);
            steps.Add(new PlannedLoss(output, act[output], outGrad));
            if (outGrad is int og) written.Add(og);
            if (training) PlanBackward(fused);
            return Finish(lossIndex, fused);
        }

        /// <summary>
        /// Activations that can run inside their producer: the activation's layer is fusible, the producer can apply
        /// its epilogue, sits on the same device, is not the graph's output, and the activation is its only reader.
        /// </summary>
        (Dictionary<Node, Node> Fused, Dictionary<Node, FusedActivation> Epilogues) FusibleActivations()
        {
            var fused = new Dictionary<Node, Node>();
            var epilogues = new Dictionary<Node, FusedActivation>();
            if (!options.FuseActivations) return (fused, epilogues);
            var readers = new Dictionary<Node, int>();
            foreach (var n in order)
                foreach (var i in n.Inputs) readers[i] = readers.GetValueOrDefault(i) + 1;
            foreach (var n in order)
            {
                if (n.IsInput || n.Layer is not IFusibleActivation a || n.Inputs.Count != 1) continue;
                var p = n.Inputs[0];
                if (p.IsInput || p == output || p.Device != n.Device || !p.Layer!.CanFuse(a.Epilogue) || readers[p] != 1) continue;
                fused[n] = p;
                epilogues[p] = a.Epilogue;
            }
            return (fused, epilogues);
        }

        /// <summary>The buffer of <paramref name="producer"/>'s output on <paramref name="device"/>: its own, or a mirror.</summary>
        int Resolve(Node producer, int device)
        {
            int s = act[producer];
            if (slots[s].Device == device) return s;
            if (!mirrors.TryGetValue((s, device), out int m))
            {
                m = NewSlot($"{slots[s].Buffer.Name}@{device}", device, slots[s].Buffer.Size, BufferRole.Mirror);
                slots[m].MirrorOf = s;
                mirrors[(s, device)] = m;
                // A graph input goes to every device that reads it straight from the host: no device-to-device copy.
                if (producer.IsInput) slots[m].HostFed = true;
                else steps.Add(new PlannedTransfer(s, m));
            }
            return m;
        }

        void PlanForward(Dictionary<Node, Node> fused, Dictionary<Node, FusedActivation> epilogues)
        {
            foreach (var n in order)
            {
                long size = n.Shape.Size * batch;
                if (n.IsInput) { act[n] = NewSlot(n.Name, n.Device, size, BufferRole.Activation); continue; }
                var ins = Array.AsReadOnly(n.Inputs.Select(i => Resolve(i, n.Device)).ToArray());
                inputsOf[n] = ins;
                if (fused.ContainsKey(n)) { act[n] = ins[0]; continue; } // the producer already wrote f(·) here
                act[n] = n.Layer!.IsAlias ? ins[0] : NewSlot(n.Name, n.Device, size, BufferRole.Activation);
                steps.Add(new PlannedForward(n, ins, act[n], epilogues.GetValueOrDefault(n)));
            }
        }

        /// <summary>Gradient buffers. An alias shares its input's gradient; a mirror has its own on the consumer's device.</summary>
        void PlanGradients()
        {
            foreach (var n in order)
            {
                var s = slots[act[n]];
                if (s.Grad >= 0) continue;
                if (n.IsInput && !options.InputGradients) continue;
                if (!training && n != output) continue;
                s.Grad = NewSlot("d" + s.Buffer.Name, s.Device, s.Buffer.Size, BufferRole.Gradient);
            }
            foreach (int m in mirrors.Values)
                if (slots[slots[m].MirrorOf].Grad >= 0 && training)
                    slots[m].Grad = NewSlot("d" + slots[m].Buffer.Name, slots[m].Device, slots[m].Buffer.Size, BufferRole.Gradient);
        }

        int? GradOf(int slot) => slots[slot].Grad >= 0 ? slots[slot].Grad : null;

        void PlanBackward(Dictionary<Node, Node> fused)
        {
            // The mirror's gradient is complete after the backward of its earliest consumer.
            var lastReader = new Dictionary<int, Node>();
            foreach (var n in order.Where(n => !n.IsInput))
                foreach (int s in inputsOf[n])
                    if (slots[s].MirrorOf >= 0 && !lastReader.ContainsKey(s)) lastReader[s] = n;
            foreach (var n in order.Reverse())
            {
                if (n.IsInput) continue;
                if (!n.Layer!.IsAlias) steps.Add(Backward(n, fused.ContainsKey(n)));
                foreach (var (m, reader) in lastReader)
                {
                    if (reader != n || slots[m].Grad < 0 || GradOf(slots[m].MirrorOf) is not int target) continue;
                    int source = slots[m].Grad;
                    int staging = NewSlot("stage-" + slots[source].Buffer.Name, slots[slots[m].MirrorOf].Device, slots[m].Buffer.Size, BufferRole.Staging);
                    steps.Add(new PlannedGradientTransfer(source, staging, target, written.Add(target) ? 0f : 1f));
                }
            }
        }

        /// <summary>A backward step; the first step to write an input gradient overwrites it, later ones add.</summary>
        PlannedBackward Backward(Node n, bool inPlace)
        {
            var ins = inputsOf[n];
            var grads = ins.Select(GradOf).ToArray();
            var betas = new float[ins.Count];
            for (int k = 0; k < betas.Length; k++)
                // A fused activation's input gradient is its own output gradient: masked in place, never accumulated.
                if (grads[k] is int g) betas[k] = written.Add(g) || inPlace ? 0f : 1f;
            return new PlannedBackward(n, ins, act[n], slots[act[n]].Grad, Array.AsReadOnly(grads), Array.AsReadOnly(betas), inPlace);
        }

        Plan Finish(int lossIndex, Dictionary<Node, Node> fused)
        {
            // Lifetimes: every buffer is live from its first to its last touch; inputs are written before the first
            // step, and the output (and input gradients) are read after the last.
            int last = steps.Count;
            var inputs = order.Where(n => n.IsInput).ToArray();
            foreach (var n in inputs)
            {
                slots[act[n]].Buffer.Touch(0);
                if (GradOf(act[n]) is int g) { slots[g].Buffer.Touch(0); slots[g].Buffer.Touch(last); }
            }
            foreach (int m in mirrors.Values.Where(m => slots[m].HostFed)) slots[m].Buffer.Touch(0);
            slots[act[output]].Buffer.Touch(last);
            if (GradOf(act[output]) is int og) slots[og].Buffer.Touch(last);
            for (int i = 0; i < steps.Count; i++)
                foreach (int b in steps[i].Touches) slots[b].Buffer.Touch(i);

            var arenas = new long[devices.Count];
            for (int d = 0; d < devices.Count; d++)
                arenas[d] = MemoryPlanner.Plan(slots.Where(s => s.Device == d).Select(s => s.Buffer).ToList());
            var buffers = slots.Select(s => new PlanBuffer(s.Buffer.Name, s.Device, s.Buffer.Offset, s.Buffer.Size, s.Buffer.First, s.Buffer.Last, s.Role)).ToArray();
            var planInputs = inputs.Select(n => new PlanInput(n, act[n], GradOf(act[n]),
                Array.AsReadOnly(mirrors.Values.Where(m => slots[m].HostFed && slots[m].MirrorOf == act[n]).Prepend(act[n]).ToArray()))).ToArray();
            var gradients = Enumerable.Range(0, slots.Count).Where(i => slots[i].Grad >= 0).ToDictionary(i => i, i => slots[i].Grad);
            return new Plan(graph, batch, options, order, buffers, steps, lossIndex, arenas, planInputs, act, gradients, fused,
                steps.Select(st => st.Crossing(buffers, devices)).OfType<Transfer>().ToArray());
        }
    }
}

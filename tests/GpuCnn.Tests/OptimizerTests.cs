using GpuCnn.Devices;
using GpuCnn.Graphs;
using GpuCnn.Layers;
using GpuCnn.Optimizers;
using GpuCnn.Serialization;
using GpuCnn.Tensors;
using GpuCnn.Tests.Infrastructure;
using ILGPU.Runtime;
using Xunit;
// A class named like its namespace: inside GpuCnn.* the simple name Optimizers means the namespace.

namespace GpuCnn.Tests;

public class OptimizerTests
{
    const double Beta1 = 0.9f, Beta2 = 0.999f, Eps = 1e-8f; // the float hyper-parameters, widened exactly

    /// <summary>
    /// Two linear layers (weights of both, then biases of both in the store), random values, and per-element
    /// double copies of the values and of whether weight decay applies, built from <see cref="Parameter.NoWeightDecay"/>.
    /// </summary>
    sealed class Fixture : IDisposable
    {
        public readonly Graph Graph = new Sequential(new Shape(3), new Linear(3, 4, name: "fc1"), new Linear(4, 2, name: "fc2"));
        public readonly ParameterStore Store;
        public readonly ParameterStore.DeviceSlice Slice;
        public readonly double[] P;
        public readonly bool[] NoDecay;

        public Fixture(ComputeDevice dev, int seed)
        {
            Store = new ParameterStore(Graph, new[] { dev });
            var rng = new Random(seed);
            foreach (var par in Graph.Parameters) Store.Set(par, GradCheck.RandomFloats(rng, (int)par.Shape.Size, 1));
            Slice = Store.Slices[0];
            P = new double[Slice.Length];
            NoDecay = new bool[Slice.Length];
            foreach (var (par, off) in Slice.Entries)
            {
                var v = Store.Get(par);
                for (int i = 0; i < v.Length; i++) { P[off + i] = v[i]; NoDecay[off + i] = par.NoWeightDecay; }
            }
            Assert.Contains(true, NoDecay);
            Assert.Contains(false, NoDecay);
        }

        public void SetGrads(float[] g) => Slice.Grads.View.CopyFromCPU(Slice.Device.Stream, g);

        public float[] Values()
        {
            var a = new float[Slice.Length];
            Slice.Values.View.CopyToCPU(Slice.Device.Stream, a);
            return a;
        }

        public void Dispose() => Store.Dispose();
    }

    /// <summary>Double reference of one <c>torch.optim.Adam</c> (decoupled = false) or <c>AdamW</c> step.</summary>
    static void AdamReference(double[] p, double[] m, double[] v, float[] grad, bool[] decayed, int t, double lr, double wd, bool decoupled)
    {
        double bc1 = 1 - Math.Pow(Beta1, t), bc2 = 1 - Math.Pow(Beta2, t);
        for (int i = 0; i < p.Length; i++)
        {
            double g = grad[i];
            if (decayed[i])
            {
                if (decoupled) p[i] *= 1 - lr * wd;
                else g += wd * p[i];
            }
            m[i] = Beta1 * m[i] + (1 - Beta1) * g;
            v[i] = Beta2 * v[i] + (1 - Beta2) * g * g;
            p[i] -= lr * (m[i] / bc1) / (Math.Sqrt(v[i] / bc2) + Eps);
        }
    }

    public static TheoryData<string, string, bool> AdamCases()
    {
        var d = new TheoryData<string, string, bool>();
        foreach (string b in Backends.All)
            foreach (string name in new[] { "adam", "adamw" })
                foreach (bool decayBiases in new[] { true, false })
                    d.Add(b, name, decayBiases);
        return d;
    }

    /// <summary>Adam and AdamW with weight decay over four steps against a double reference of PyTorch's rules.</summary>
    [SkippableTheory, MemberData(nameof(AdamCases))]
    public void Adam_matches_reference(string backend, string name, bool decayBiases)
    {
        var dev = Backends.Get(backend);
        using var f = new Fixture(dev, 5);
        const float lr = 0.05f, wd = 0.1f;
        bool decoupled = name == "adamw";
        using AdamBase opt = decoupled
            ? new AdamW(f.Store, lr, weightDecay: wd, decayBiases: decayBiases)
            : new Adam(f.Store, lr, weightDecay: wd, decayBiases: decayBiases);
        Assert.Equal(name, opt.Name);
        var decayed = f.NoDecay.Select(b => decayBiases || !b).ToArray();
        var m = new double[f.P.Length];
        var v = new double[f.P.Length];
        var rng = new Random(17);
        for (int t = 1; t <= 4; t++)
        {
            var grad = GradCheck.RandomFloats(rng, f.P.Length, 1);
            f.SetGrads(grad);
            opt.Step();
            AdamReference(f.P, m, v, grad, decayed, t, lr, wd, decoupled);
        }
        Close.Assert(f.P, f.Values(), 1e-6, 1e-5, $"{name} parameters after 4 steps (decayBiases={decayBiases})");
        var state = opt.GetState();
        Assert.Single(state);
        Close.Assert(m.Concat(v).ToArray(), state[0], 1e-7, 1e-5, $"{name} moments [m | v]");
        Assert.Equal(4, opt.Steps);
    }

    /// <summary>
    /// With zero gradients only weight decay moves a parameter: with decayBiases = false the biases stay bit-identical
    /// while the weights move; with decayBiases = true both move.
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Biases_are_not_decayed_when_decayBiases_is_false(string backend)
    {
        var dev = Backends.Get(backend);
        foreach (string name in new[] { "sgd", "adam", "adamw" })
            foreach (bool decayBiases in new[] { false, true })
            {
                using var f = new Fixture(dev, 9);
                var before = f.Values();
                using var opt = OptimizerFactory.Create(name, f.Store, 0.1f, 0.9f, 0.1f, false, decayBiases);
                f.SetGrads(new float[f.P.Length]);
                opt.Step();
                opt.Step();
                var after = f.Values();
                for (int i = 0; i < after.Length; i++)
                {
                    bool shouldMove = !f.NoDecay[i] || decayBiases;
                    Assert.True(shouldMove == (after[i] != before[i]),
                        $"{name}, decayBiases={decayBiases}: element {i} ({(f.NoDecay[i] ? "bias" : "weight")}) {(shouldMove ? "did not move" : "moved")}");
                }
            }
    }

    /// <summary>SGD with momentum, weight decay and decayBiases = false against a double reference of PyTorch's rule.</summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Sgd_without_bias_decay_matches_reference(string backend)
    {
        var dev = Backends.Get(backend);
        foreach (bool nesterov in new[] { false, true })
        {
            using var f = new Fixture(dev, 13);
            const float lr = 0.1f, mu = 0.9f, wd = 0.05f;
            using var opt = new Sgd(f.Store, lr, mu, wd, nesterov, decayBiases: false);
            var buf = new double[f.P.Length];
            var rng = new Random(23);
            for (int step = 0; step < 3; step++)
            {
                var grad = GradCheck.RandomFloats(rng, f.P.Length, 1);
                f.SetGrads(grad);
                opt.Step();
                for (int i = 0; i < f.P.Length; i++)
                {
                    double gi = grad[i] + (f.NoDecay[i] ? 0 : wd * f.P[i]);
                    buf[i] = mu * buf[i] + gi;
                    f.P[i] -= lr * (nesterov ? gi + mu * buf[i] : buf[i]);
                }
            }
            Close.Assert(f.P, f.Values(), 1e-6, 1e-5, $"SGD without bias decay after 3 steps (nesterov={nesterov})");
        }
    }

    /// <summary>
    /// Adam after two steps, saved and loaded into a fresh store and optimiser: one more step on both gives
    /// bit-identical parameters and moments, so the step count (bias correction) continues correctly.
    /// </summary>
    [SkippableTheory, MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Adam_state_round_trips_through_a_checkpoint(string backend)
    {
        var dev = Backends.Get(backend);
        string path = Path.Combine(Path.GetTempPath(), $"gpucnn-adam-{Guid.NewGuid():N}.ckpt");
        try
        {
            using var a = new Fixture(dev, 31);
            using var optA = new Adam(a.Store, 0.01f, weightDecay: 0.01f, decayBiases: false);
            var rng = new Random(41);
            for (int i = 0; i < 2; i++)
            {
                a.SetGrads(GradCheck.RandomFloats(rng, a.P.Length, 1));
                optA.Step();
            }
            Checkpoint.Save(path, a.Store, optA, epoch: 1);
            Assert.Equal(2, Checkpoint.ReadHeader(path).OptimizerStateBuffers);

            using var b = new Fixture(dev, 99); // different values, overwritten by the load
            using var optB = new Adam(b.Store, 0.01f, weightDecay: 0.01f, decayBiases: false);
            Checkpoint.Load(path, b.Store, optB);
            Assert.Equal(2, optB.Steps);
            Assert.Equal(Bits(optA.GetState()[0]), Bits(optB.GetState()[0]));

            var grad = GradCheck.RandomFloats(rng, a.P.Length, 1);
            a.SetGrads(grad);
            b.SetGrads(grad);
            optA.Step();
            optB.Step();
            Assert.Equal(Bits(a.Values()), Bits(b.Values()));
            Assert.Equal(Bits(optA.GetState()[0]), Bits(optB.GetState()[0]));
            Assert.Equal(3, optB.Steps);

            using var wrong = new AdamW(b.Store);
            Assert.Throws<GpuCnn.Data.DataFormatException>(() => Checkpoint.Load(path, b.Store, wrong));
        }
        finally
        {
            File.Delete(path);
        }

        static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();
    }

    [Fact]
    public void Adam_rejects_bad_arguments_and_state()
    {
        using var f = new Fixture(Backends.Get("cpu"), 1);
        Assert.Throws<ArgumentException>(() => new Adam(f.Store, 0f));
        Assert.Throws<ArgumentException>(() => new Adam(f.Store, beta1: 1f));
        Assert.Throws<ArgumentException>(() => new Adam(f.Store, beta2: -0.1f));
        Assert.Throws<ArgumentException>(() => new Adam(f.Store, eps: 0f));
        Assert.Throws<ArgumentException>(() => new AdamW(f.Store, weightDecay: -1f));
        Assert.Throws<ArgumentException>(() => new AdamW(f.Store, weightDecay: float.NaN));
        using var opt = new Adam(f.Store);
        Assert.Equal(0.01f, new AdamW(f.Store).WeightDecay);
        Assert.Throws<ArgumentException>(() => opt.SetState(new[] { new float[f.P.Length] }, 1)); // m only, no v
        Assert.Throws<ArgumentException>(() => opt.SetState(Array.Empty<float[]>(), 1));
    }

    [Fact]
    public void Factory_creates_by_name_and_rejects_unknown_names()
    {
        using var f = new Fixture(Backends.Get("cpu"), 1);
        using (var sgd = OptimizerFactory.Create("SGD", f.Store, 0.1f, 0.9f, 1e-4f, true, false))
        {
            var s = Assert.IsType<Sgd>(sgd);
            Assert.Equal((0.9f, 1e-4f, true, false), (s.Momentum, s.WeightDecay, s.Nesterov, s.DecayBiases));
            Assert.Equal(1, s.StateBuffers);
        }
        using (var adam = OptimizerFactory.Create("adam", f.Store, 1e-3f, 0.9f, 1e-4f, false, true))
        {
            var a = Assert.IsType<Adam>(adam);
            Assert.Equal((1e-3f, 1e-4f, true, 2), (a.LearningRate, a.WeightDecay, a.DecayBiases, a.StateBuffers));
        }
        using (var adamw = OptimizerFactory.Create("adamw", f.Store, 1e-3f, 0.9f, 0.05f, false, false))
            Assert.Equal(("adamw", 0.05f, false), (Assert.IsType<AdamW>(adamw).Name, ((AdamW)adamw).WeightDecay, adamw.DecayBiases));
        var e = Assert.Throws<ArgumentException>(() => OptimizerFactory.Create("rmsprop", f.Store, 0.1f, 0, 0, false, true));
        Assert.Contains("sgd, adam, adamw", e.Message);
        Assert.Throws<ArgumentException>(() => OptimizerFactory.Create("adam", f.Store, 0.1f, 0, 0, true, true));
    }

    [Fact]
    public void MultiStepLR_decays_at_each_milestone()
    {
        var s = new MultiStepLR(new[] { 5, 2 }, 0.5f);
        Assert.Equal(new[] { 2, 5 }, s.Milestones);
        Assert.Equal(new[] { 1f, 1f, 0.5f, 0.5f, 0.5f, 0.25f, 0.25f }, Enumerable.Range(0, 7).Select(e => s.Rate(1f, e)));
        Assert.Throws<ArgumentException>(() => new MultiStepLR(Array.Empty<int>()));
        Assert.Throws<ArgumentException>(() => new MultiStepLR(new[] { 0 }));
        Assert.Throws<ArgumentException>(() => new MultiStepLR(new[] { 3, 3 }));
    }

    [Fact]
    public void CosineAnnealingLR_follows_the_closed_form_and_clamps_at_T_max()
    {
        var s = new CosineAnnealingLR(10, 0.01f);
        for (int e = 0; e <= 14; e++)
        {
            double expect = 0.01f + (0.5 - 0.01f) * (1 + Math.Cos(Math.PI * Math.Min(e, 10) / 10)) / 2;
            Assert.Equal(expect, s.Rate(0.5f, e), 6);
        }
        Assert.Equal(0.5f, s.Rate(0.5f, 0));
        Assert.Equal(0.01f, s.Rate(0.5f, 10), 6);
        Assert.Throws<ArgumentException>(() => new CosineAnnealingLR(0));
    }

    [Fact]
    public void WarmupLR_rises_linearly_then_runs_the_inner_schedule_from_its_epoch_zero()
    {
        var s = new WarmupLR(new StepLR(2, 0.5f), 4, 0.2f);
        float[] expect = { 0.2f, 0.4f, 0.6f, 0.8f, 1f, 1f, 0.5f, 0.5f, 0.25f };
        for (int e = 0; e < expect.Length; e++) Assert.Equal(expect[e], s.Rate(1f, e), 6);
        Assert.Throws<ArgumentException>(() => new WarmupLR(new ConstantLR(), 0));
        Assert.Throws<ArgumentException>(() => new WarmupLR(new ConstantLR(), 2, 0f));
        Assert.Throws<ArgumentException>(() => new WarmupLR(new ConstantLR(), 2, 1.5f));
    }

    [Fact]
    public void Schedules_Parse_accepts_the_documented_forms()
    {
        Assert.IsType<ConstantLR>(Schedules.Parse("constant", 10));
        var step = Assert.IsType<StepLR>(Schedules.Parse("step:3", 10));
        Assert.Equal((3, 0.1f), (step.StepSize, step.Gamma));
        Assert.Equal(0.5f, Assert.IsType<StepLR>(Schedules.Parse(" Step:3:0.5 ", 10)).Gamma);
        var ms = Assert.IsType<MultiStepLR>(Schedules.Parse("multistep:3,6,8:0.2", 10));
        Assert.Equal(new[] { 3, 6, 8 }, ms.Milestones);
        Assert.Equal(0.2f, ms.Gamma);
        Assert.Equal(0.1f, Assert.IsType<MultiStepLR>(Schedules.Parse("multistep:4", 10)).Gamma);
        var cos = Assert.IsType<CosineAnnealingLR>(Schedules.Parse("cosine", 10));
        Assert.Equal((10, 0f), (cos.TMax, cos.EtaMin));
        Assert.Equal(1e-4f, Assert.IsType<CosineAnnealingLR>(Schedules.Parse("cosine:1e-4", 10)).EtaMin);

        var w = Assert.IsType<WarmupLR>(Schedules.Parse("warmup:2+cosine", 10));
        Assert.Equal((2, 0.1f), (w.WarmupEpochs, w.StartFactor));
        Assert.Equal(8, Assert.IsType<CosineAnnealingLR>(w.Inner).TMax); // the cosine spans the epochs after warm-up
        Assert.Equal(0.1f, w.Rate(1f, 0), 6);
        Assert.Equal(0.55f, w.Rate(1f, 1), 6);
        Assert.Equal(1f, w.Rate(1f, 2), 6);
        Assert.Equal(0f, w.Rate(1f, 10), 6);
        var w2 = Assert.IsType<WarmupLR>(Schedules.Parse("warmup:3:0.5+step:2:0.5", 10));
        Assert.Equal((3, 0.5f), (w2.WarmupEpochs, w2.StartFactor));
        Assert.IsType<StepLR>(w2.Inner);
    }

    [Theory]
    [InlineData("")]
    [InlineData("linear")]
    [InlineData("constant:1")]
    [InlineData("step")]
    [InlineData("step:0")]
    [InlineData("step:x")]
    [InlineData("step:2:0.5:1")]
    [InlineData("multistep:")]
    [InlineData("multistep:3,x")]
    [InlineData("cosine:nan")]
    [InlineData("cosine:-1")]
    [InlineData("warmup:2")]
    [InlineData("warmup:0+cosine")]
    [InlineData("warmup:2+")]
    [InlineData("warmup:2+warmup:1+cosine")]
    [InlineData("warmup:2:0+constant")]
    public void Schedules_Parse_rejects_invalid_specs_listing_the_valid_forms(string spec)
    {
        var e = Assert.Throws<ArgumentException>(() => Schedules.Parse(spec, 10));
        Assert.Contains($"'{spec}'", e.Message);
        Assert.Contains(Schedules.ValidForms, e.Message);
    }

    [Fact]
    public void Schedules_Parse_cosine_needs_positive_epochs()
    {
        Assert.Throws<ArgumentException>(() => Schedules.Parse("cosine", 0));
        Assert.IsType<StepLR>(Schedules.Parse("step:2", 0));
    }
}

using System.Collections.Concurrent;
using GpuCnn.Layers;
using GpuCnn.Tensors;

namespace GpuCnn.Tests.Infrastructure;

/// <summary>
/// Plain double-precision reference implementations, written straight from the definitions with no sharing of
/// code or tricks with the kernels. Shapes include the batch dimension.
/// </summary>
public static class Reference
{
    /// <summary>Forward of one layer: inputs, their shapes, the parameters (in the layer's order) → output.</summary>
    public delegate double[] Forward(double[][] inputs, Shape[] shapes, double[][] parameters);

    /// <summary>The mode, seed and step the references reproduce (the executor's defaults for its first training step).</summary>
    public sealed record Mode(bool Training = true, int Seed = 0, ulong Step = 0);

    static readonly ConcurrentDictionary<Type, Func<Layer, Forward>> Registered = new();

    /// <summary>
    /// Registers the reference of a layer type whose test file keeps its own (a new activation is its op, its layer
    /// and its test file); <see cref="For"/> and so <see cref="GradCheck"/> then use it.
    /// </summary>
    public static void Register<TLayer>(Func<TLayer, Forward> reference) where TLayer : Layer =>
        Registered[typeof(TLayer)] = l => reference((TLayer)l);

    /// <summary>The reference for a layer instance.</summary>
    public static Forward For(Layer layer, Mode? mode = null)
    {
        if (Registered.TryGetValue(layer.GetType(), out var registered)) return registered(layer);
        var md = mode ?? new Mode();
        return layer switch
    {
        Dropout d => (x, _, _) => Dropout(x[0], d, md),
        LocalResponseNorm l => (x, s, _) => Lrn(x[0], s[0], l),
        StochasticPool2d sp => (x, s, _) => StochasticPool(x[0], s[0], sp, md),
        BatchNorm2d b => (x, s, p) => BatchNorm(x[0], s[0], p[0], p[1], p[2], p[3], b.Eps, md.Training),
        Concat => (x, s, _) => ConcatChannels(x, s),
        GlobalAvgPool2d => (x, s, _) => GlobalAvg(x[0], s[0]),
        AdaptiveAvgPool2d a => (x, s, _) => AdaptiveAvg(x[0], s[0], a.OutputH, a.OutputW),
        Softmax => (x, s, _) => SoftmaxChannels(x[0], s[0]),
        Conv2d c => (x, s, p) => Conv2d(x[0], s[0], p[0], c.Bias is null ? null : p[1], c),
        Linear l => (x, s, p) => Linear(x[0], s[0][0], p[0], l.Bias is null ? null : p[1], l.InFeatures, l.OutFeatures),
        ReLU => (x, _, _) => x[0].Select(v => Math.Max(v, 0)).ToArray(),
        Tanh => (x, _, _) => x[0].Select(Math.Tanh).ToArray(),
        Sigmoid => (x, _, _) => x[0].Select(v => 1 / (1 + Math.Exp(-v))).ToArray(),
        Flatten => (x, _, _) => (double[])x[0].Clone(),
        Add => (x, _, _) => Enumerable.Range(0, x[0].Length).Select(i => x.Sum(a => a[i])).ToArray(),
        MaxPool2d m => (x, s, _) => Pool(x[0], s[0], m, (w) => w.Max()),
        MinPool2d m => (x, s, _) => Pool(x[0], s[0], m, (w) => w.Min()),
        AvgPool2d m => (x, s, _) => Pool(x[0], s[0], m, null),
        _ => throw new NotSupportedException($"no reference for {layer.TypeName}"),
    };
    }

    /// <summary>Inverted dropout with the same Philox draws as the kernel.</summary>
    public static double[] Dropout(double[] x, Dropout d, Mode m)
    {
        if (!m.Training || d.P == 0) return (double[])x.Clone();
        ulong key = Philox.Key(m.Seed, d.Name);
        return x.Select((v, i) => Philox.Uniform(key, (ulong)i, m.Step) >= d.P ? v / (1 - d.P) : 0).ToArray();
    }

    /// <summary>LRN across channels from the definition.</summary>
    public static double[] Lrn(double[] x, Shape s, LocalResponseNorm l)
    {
        int n = s[0], c = s[1], plane = s[2] * s[3];
        var y = new double[x.Length];
        for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
        for (int p = 0; p < plane; p++)
        {
            double sum = 0;
            for (int j = Math.Max(0, ch - l.Size / 2); j <= Math.Min(c - 1, ch + (l.Size - 1) / 2); j++)
                sum += x[(b * c + j) * plane + p] * x[(b * c + j) * plane + p];
            int i = (b * c + ch) * plane + p;
            y[i] = x[i] / Math.Pow(l.K + l.Alpha / l.Size * sum, l.Beta);
        }
        return y;
    }

    /// <summary>Stochastic pooling: the sampled element (training, same draws and float arithmetic as the kernel) or Σa²/Σa.</summary>
    public static double[] StochasticPool(double[] x, Shape xs, StochasticPool2d p, Mode m)
    {
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3], k = p.KernelSize, st = p.Stride, pad = p.PaddingSize;
        int oh = (h + 2 * pad - k) / st + 1, ow = (w + 2 * pad - k) / st + 1;
        ulong key = Philox.Key(m.Seed, p.Name);
        var y = new double[n * c * oh * ow];
        for (int pl = 0; pl < n * c; pl++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            int o = (pl * oh + oy) * ow + ox;
            var cells = new List<double>();
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int iy = oy * st - pad + ky, ix = ox * st - pad + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w && x[(pl * h + iy) * w + ix] > 0) cells.Add(x[(pl * h + iy) * w + ix]);
            }
            if (cells.Count == 0) continue;
            if (!m.Training) { y[o] = cells.Sum(v => v * v) / cells.Sum(); continue; }
            float s = 0f;
            foreach (var v in cells) s += (float)v;
            float target = Philox.Uniform(key, (ulong)o, m.Step) * s, cum = 0f;
            double pick = cells[^1];
            foreach (var v in cells) { cum += (float)v; if (cum > target) { pick = v; break; } }
            y[o] = pick;
        }
        return y;
    }

    /// <summary>BatchNorm2d: batch statistics (biased variance) in training, running statistics in eval.</summary>
    public static double[] BatchNorm(double[] x, Shape s, double[] gamma, double[] beta, double[] runMean, double[] runVar, double eps, bool training)
    {
        int n = s[0], c = s[1], plane = s[2] * s[3];
        var y = new double[x.Length];
        for (int ch = 0; ch < c; ch++)
        {
            var vals = new List<double>();
            for (int b = 0; b < n; b++) for (int p = 0; p < plane; p++) vals.Add(x[(b * c + ch) * plane + p]);
            double mean = training ? vals.Average() : runMean[ch];
            double var = training ? vals.Sum(v => (v - mean) * (v - mean)) / vals.Count : runVar[ch];
            for (int b = 0; b < n; b++)
                for (int p = 0; p < plane; p++)
                {
                    int i = (b * c + ch) * plane + p;
                    y[i] = gamma[ch] * (x[i] - mean) / Math.Sqrt(var + eps) + beta[ch];
                }
        }
        return y;
    }

    /// <summary>torch.cat along dim 1.</summary>
    public static double[] ConcatChannels(double[][] xs, Shape[] shapes)
    {
        int n = shapes[0][0];
        var parts = xs.Select((x, i) => (x, per: (int)(shapes[i].Size / n))).ToList();
        var y = new List<double>();
        for (int b = 0; b < n; b++)
            foreach (var (x, per) in parts) y.AddRange(x.Skip(b * per).Take(per));
        return y.ToArray();
    }

    /// <summary>Adaptive average pooling with PyTorch's window bounds ⌊i·H/O⌋ .. ⌈(i+1)·H/O⌉.</summary>
    public static double[] AdaptiveAvg(double[] x, Shape s, int oh, int ow)
    {
        int planes = s[0] * s[1], h = s[2], w = s[3];
        var y = new double[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int y0 = (int)Math.Floor(oy * (double)h / oh), y1 = (int)Math.Ceiling((oy + 1) * (double)h / oh);
                    int x0 = (int)Math.Floor(ox * (double)w / ow), x1 = (int)Math.Ceiling((ox + 1) * (double)w / ow);
                    double sum = 0;
                    for (int iy = y0; iy < y1; iy++) for (int ix = x0; ix < x1; ix++) sum += x[(pl * h + iy) * w + ix];
                    y[(pl * oh + oy) * ow + ox] = sum / ((y1 - y0) * (x1 - x0));
                }
        return y;
    }

    /// <summary>Mean over each plane.</summary>
    public static double[] GlobalAvg(double[] x, Shape s)
    {
        int plane = s[2] * s[3];
        return Enumerable.Range(0, s[0] * s[1]).Select(pl => x.Skip(pl * plane).Take(plane).Average()).ToArray();
    }

    /// <summary>Softmax over dim 1.</summary>
    public static double[] SoftmaxChannels(double[] x, Shape s)
    {
        int n = s[0], c = s[1], plane = (int)(s.Size / (n * c));
        var y = new double[x.Length];
        for (int b = 0; b < n; b++)
            for (int p = 0; p < plane; p++)
            {
                double max = double.NegativeInfinity;
                for (int ch = 0; ch < c; ch++) max = Math.Max(max, x[(b * c + ch) * plane + p]);
                double sum = 0;
                for (int ch = 0; ch < c; ch++) sum += Math.Exp(x[(b * c + ch) * plane + p] - max);
                for (int ch = 0; ch < c; ch++) y[(b * c + ch) * plane + p] = Math.Exp(x[(b * c + ch) * plane + p] - max) / sum;
            }
        return y;
    }

    /// <summary>Convolution from the definition (cross-correlation), any stride/padding/dilation/groups.</summary>
    public static double[] Conv2d(double[] x, Shape xs, double[] w, double[]? b, Conv2d layer)
    {
        var geo = layer.Geometry(xs);
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3];
        int k = layer.OutChannels, oh = geo.OH, ow = geo.OW, g = layer.Groups, cpg = c / g, kpg = k / g;
        var y = new double[n * k * oh * ow];
        for (int nn = 0; nn < n; nn++)
        for (int kk = 0; kk < k; kk++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            double acc = b is null ? 0 : b[kk];
            int grp = kk / kpg;
            for (int ci = 0; ci < cpg; ci++)
            for (int ky = 0; ky < geo.KH; ky++)
            for (int kx = 0; kx < geo.KW; kx++)
            {
                int iy = oy * geo.SH - geo.PH + ky * geo.DH, ix = ox * geo.SW - geo.PW + kx * geo.DW;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += w[((kk * cpg + ci) * geo.KH + ky) * geo.KW + kx] * x[((nn * c + grp * cpg + ci) * h + iy) * wd + ix];
            }
            y[((nn * k + kk) * oh + oy) * ow + ox] = acc;
        }
        return y;
    }

    /// <summary>y = x·Wᵀ + b.</summary>
    public static double[] Linear(double[] x, int n, double[] w, double[]? b, int inF, int outF)
    {
        var y = new double[n * outF];
        for (int i = 0; i < n; i++)
            for (int o = 0; o < outF; o++)
            {
                double acc = b is null ? 0 : b[o];
                for (int j = 0; j < inF; j++) acc += x[i * inF + j] * w[o * inF + j];
                y[i * outF + o] = acc;
            }
        return y;
    }

    /// <summary>Pooling from the definition: windows over the padded input; max/min ignore padding, average counts it.</summary>
    public static double[] Pool(double[] x, Shape xs, Pool2d p, Func<List<double>, double>? select)
    {
        int n = xs[0], c = xs[1], h = xs[2], w = xs[3];
        int k = p.KernelSize, s = p.Stride, pad = p.PaddingSize;
        int OutSize(int size)
        {
            double raw = (size + 2.0 * pad - k) / s;
            int o = (int)(p.CeilMode ? Math.Ceiling(raw) : Math.Floor(raw)) + 1;
            if (p.CeilMode && (o - 1) * s >= size + pad) o--;
            return o;
        }
        int oh = OutSize(h), ow = OutSize(w);
        var y = new double[n * c * oh * ow];
        for (int pl = 0; pl < n * c; pl++)
        for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
        {
            var vals = new List<double>();
            int y0 = oy * s - pad, x0 = ox * s - pad;
            for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++)
            {
                int iy = y0 + ky, ix = x0 + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) vals.Add(x[(pl * h + iy) * w + ix]);
            }
            double v;
            if (select is not null) v = select(vals);
            else
            {
                int hEnd = Math.Min(y0 + k, h + pad), wEnd = Math.Min(x0 + k, w + pad);
                v = vals.Sum() / ((hEnd - y0) * (wEnd - x0));
            }
            y[(pl * oh + oy) * ow + ox] = v;
        }
        return y;
    }

    /// <summary>Per-row softmax cross-entropy losses (labels &lt; 0 give 0) and the mean loss over valid rows.</summary>
    public static (double[] Rows, double Mean, double[] Grad) SoftmaxCrossEntropy(double[] z, int[] labels, int classes)
    {
        int n = labels.Length, valid = labels.Count(l => l >= 0);
        var rows = new double[n];
        var grad = new double[z.Length];
        for (int b = 0; b < n; b++)
        {
            if (labels[b] < 0) continue;
            double max = double.NegativeInfinity;
            for (int c = 0; c < classes; c++) max = Math.Max(max, z[b * classes + c]);
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.Exp(z[b * classes + c] - max);
            rows[b] = Math.Log(sum) + max - z[b * classes + labels[b]];
            for (int c = 0; c < classes; c++)
                grad[b * classes + c] = (Math.Exp(z[b * classes + c] - max) / sum - (c == labels[b] ? 1 : 0)) / valid;
        }
        return (rows, rows.Sum() / valid, grad);
    }
}

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

    /// <summary>The reference for a layer instance.</summary>
    public static Forward For(Layer layer) => layer switch
    {
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

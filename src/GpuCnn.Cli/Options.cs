using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GpuCnn.Cli;

/// <summary>Option factories with the CLI's own one-line validation messages (same wording as before System.CommandLine).</summary>
static class Opt
{
    /// <summary>An integer option; null when absent, so callers can apply model-dependent defaults.</summary>
    public static Option<int?> Int(string name, string description, int min = int.MinValue, string helpName = "N")
    {
        var o = new Option<int?>("--" + name) { Description = description, HelpName = helpName };
        o.CustomParser = r =>
        {
            string? s = Value(r, name);
            if (s is null) return null;
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
            {
                r.AddError($"--{name} must be an integer{(min > int.MinValue ? $" ≥ {min}" : "")}, got '{s}'");
                return null;
            }
            return v;
        };
        return o;
    }

    /// <summary>A floating-point option; null when absent.</summary>
    public static Option<float?> Float(string name, string description, float min = float.NegativeInfinity, string helpName = "X")
    {
        var o = new Option<float?>("--" + name) { Description = description, HelpName = helpName };
        o.CustomParser = r =>
        {
            string? s = Value(r, name);
            if (s is null) return null;
            if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || float.IsNaN(v) || v < min)
            {
                r.AddError($"--{name} must be a number{(min > float.NegativeInfinity ? $" ≥ {min}" : "")}, got '{s}'");
                return null;
            }
            if (float.IsInfinity(v)) // Infinity, or beyond float's range (1e39 parses to infinity)
            {
                r.AddError($"--{name} must be a finite number (at most {float.MaxValue:G3}), got '{s}'");
                return null;
            }
            return v;
        };
        return o;
    }

    /// <summary>A string option; null when absent.</summary>
    public static Option<string?> Text(string name, string description, string helpName) =>
        new("--" + name) { Description = description, HelpName = helpName };

    /// <summary>A flag that takes no value.</summary>
    public static Option<bool> Flag(string name, string description) =>
        new("--" + name) { Description = description, Arity = ArgumentArity.Zero };

    static string? Value(ArgumentResult r, string name)
    {
        if (r.Tokens.Count == 0) { r.AddError($"option --{name} needs a value"); return null; }
        string v = r.Tokens[^1].Value;
        // `--lr --steps 1`: the next option is not a value (a negative number is).
        if (v.StartsWith("--", StringComparison.Ordinal)) { r.AddError($"option --{name} needs a value, got the option '{v}'"); return null; }
        return v;
    }

    /// <summary>The MODEL positional: zero or more tokens, checked by <see cref="Model"/> so the message names the choices.</summary>
    public static Argument<string[]> ModelArgument() =>
        new("MODEL") { Description = $"one of: {string.Join(", ", Models.ModelZoo.Names)}", Arity = ArgumentArity.ZeroOrMore };

    /// <summary>The one model name of a command, or a usage error listing the choices.</summary>
    public static string Model(ParseResult p, Argument<string[]> arg, string command)
    {
        var names = p.GetValue(arg) ?? [];
        if (names.Length != 1)
            throw new UsageException($"'{command}' takes one model name; valid choices: {string.Join(", ", Models.ModelZoo.Names)}");
        Models.ModelZoo.Defaults(names[0]); // an unknown name fails here, before any data or device is opened
        return names[0];
    }

    /// <summary>The <c>--onnx FILE</c> option: an imported ONNX model in place of a zoo model name.</summary>
    public static Option<string?> Onnx() => Text("onnx", "an ONNX model (graph and weights) in place of a zoo model name", "FILE.onnx");

    /// <summary>
    /// The model of a command that takes a zoo name or <c>--onnx FILE</c>: exactly one of the two, else a usage error.
    /// Returns the name (null with --onnx) and the imported model (null with a name).
    /// </summary>
    public static (string? Name, Serialization.Onnx.OnnxModel? Onnx) ModelOrOnnx(ParseResult p, Argument<string[]> arg, Option<string?> onnx, string command)
    {
        string? file = p.GetValue(onnx);
        if (file is null)
        {
            if ((p.GetValue(arg) ?? []).Length != 1)
                throw new UsageException($"'{command}' takes one model name or --onnx FILE; valid choices: {string.Join(", ", Models.ModelZoo.Names)}");
            return (Model(p, arg, command), null);
        }
        if ((p.GetValue(arg) ?? []).Length > 0)
            throw new UsageException($"'{command}' takes a model name or --onnx FILE, not both");
        return (null, ImportOnnx(file));
    }

    /// <summary>Imports an ONNX file; a bad file raises <c>OnnxFormatException</c>, which Run prints as one line.</summary>
    public static Serialization.Onnx.OnnxModel ImportOnnx(string file) => Serialization.Onnx.OnnxImport.Load(file);

    /// <summary>
    /// The data of <paramref name="request"/> for an imported graph, which fixes the geometry: synthetic data and image
    /// folders are made to its input and classes; a fixed preset (mnist, cifar10) that differs is a one-line error.
    /// </summary>
    public static Data.DataSelection DataFor(Serialization.Onnx.OnnxModel onnx, string file, Data.DataRequest request)
    {
        var (channels, size) = ImageInput(onnx.Graph, file);
        int outputs = (int)onnx.Graph.Output.Shape.Size;
        bool fixedPreset = request.Data is "mnist" or "cifar10";
        var sel = Data.DataPresets.Load(request with
        {
            Channels = channels,
            ImageSize = request.ImageSize ?? (fixedPreset ? null : size),
            Classes = request.Classes ?? (fixedPreset ? null : outputs),
        });
        if (sel.Channels != channels || sel.ImageSize != size || sel.Classes != outputs)
            throw new Data.DataFormatException(file, $"the model takes [{channels}, {size}, {size}] images and has {outputs} outputs; " +
                                                     $"the data has [{sel.Channels}, {sel.ImageSize}, {sel.ImageSize}] images of {sel.Classes} classes");
        return sel;
    }

    /// <summary>The per-sample input shape [C, H, W] of an imported graph with one square image input.</summary>
    public static (int Channels, int Size) ImageInput(Graphs.Graph graph, string file)
    {
        var inputs = graph.Inputs;
        if (inputs.Count != 1 || inputs[0].Shape.Rank != 3 || inputs[0].Shape[1] != inputs[0].Shape[2])
            throw new Data.DataFormatException(file, $"the model's input is [{string.Join("; ", inputs.Select(i => string.Join(", ", i.Shape.ToArray())))}], the CLI takes one square image input [C, H, H]");
        return (inputs[0].Shape[0], inputs[0].Shape[1]);
    }
}

/// <summary>Bad command-line usage; printed without a stack trace.</summary>
sealed class UsageException(string message) : Exception(message);

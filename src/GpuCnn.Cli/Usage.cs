using System.CommandLine;
using System.Text.RegularExpressions;

namespace GpuCnn.Cli;

/// <summary>Turns System.CommandLine's parse errors into the CLI's one-line messages, with suggestions for typos.</summary>
static partial class Usage
{
    /// <summary>Throws a <see cref="UsageException"/> for the first problem of a parse, unknown options first.</summary>
    public static void ThrowOnErrors(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        // Unknown options land either among the unmatched tokens or, when the command takes any number of
        // positionals, among those: model and file names never start with a dash.
        var positional = command.Arguments.SelectMany(a => parsed.CommandResult.GetResult(a)?.Tokens ?? []).Select(t => t.Value);
        var unknown = parsed.UnmatchedTokens.Concat(positional).Where(t => t.StartsWith('-')).Distinct().ToList();
        if (unknown.Count > 0)
        {
            var names = command.Options.Select(o => o.Name).Where(n => n.StartsWith("--", StringComparison.Ordinal)).ToList();
            string hint = unknown.Count == 1 ? CommandLine.Suggest(unknown[0].Split('=')[0], names) : "";
            throw new UsageException($"unknown option(s) for '{command.Name}': {string.Join(", ", unknown)}{hint}; see 'gpucnn {command.Name} --help'");
        }
        if (parsed.Errors.Count == 0) return;
        string message = parsed.Errors[0].Message;
        if (MissingValue().Match(message) is { Success: true } m) message = $"option {m.Groups[1].Value} needs a value";
        else if (parsed.UnmatchedTokens.Count > 0 && command.Name != "gpucnn")
            message = $"unexpected argument(s) for '{command.Name}': {string.Join(" ", parsed.UnmatchedTokens)}; see 'gpucnn {command.Name} --help'";
        throw new UsageException(message.TrimEnd('.'));
    }

    [GeneratedRegex(@"argument missing for option: '([^']+)'")]
    private static partial Regex MissingValue();
}

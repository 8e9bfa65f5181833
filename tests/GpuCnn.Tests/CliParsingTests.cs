using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>The command line on System.CommandLine: help per command, version, typo suggestions, one-line errors.</summary>
public class CliParsingTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData("train", "--epochs")]
    [InlineData("eval", "--load")]
    [InlineData("predict", "--top")]
    [InlineData("bench", "--warmup")]
    [InlineData("summary", "--json")]
    [InlineData("devices", "--help")]
    public void Every_command_has_help(string command, string option)
    {
        var (code, o, err) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.Contains($"gpucnn {command}", o);
        Assert.Contains(option, o);
    }

    [Fact]
    public void No_arguments_print_the_commands_and_exit_2_and_help_exits_0()
    {
        var none = Run();
        Assert.Equal(2, none.Code);
        foreach (var c in new[] { "train", "eval", "predict", "bench", "summary", "devices" }) Assert.Contains(c, none.Out);
        Assert.Equal(0, Run("--help").Code);
        var help = Run("help", "train");
        Assert.Equal(0, help.Code);
        Assert.Contains("--batch-size", help.Out);
    }

    [Fact]
    public void Version_prints_the_assembly_version()
    {
        var (code, o, _) = Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", o.Trim());
    }

    [Fact]
    public void Typos_get_one_line_with_a_suggestion()
    {
        var opt = Run("train", "lenet5", "--epoch", "3");
        Assert.Equal(2, opt.Code);
        Assert.Equal("error: unknown option(s) for 'train': --epoch (did you mean --epochs?); see 'gpucnn train --help'", opt.Err.Trim());
        var cmd = Run("trian", "lenet5");
        Assert.Equal(2, cmd.Code);
        Assert.StartsWith("error: unknown command 'trian' (did you mean train?)", cmd.Err);
        var far = Run("summary", "lenet5", "--frobnicate");
        Assert.Equal(2, far.Code);
        Assert.DoesNotContain("did you mean", far.Err);
    }

    [Fact]
    public void An_option_never_takes_the_next_option_as_its_value()
    {
        var (code, _, err) = Run("train", "lenet5", "--lr", "--steps", "1");
        Assert.Equal(2, code);
        Assert.Equal("error: option --lr needs a value, got the option '--steps'", err.Trim());
        var end = Run("train", "lenet5", "--epochs");
        Assert.Equal(2, end.Code);
        Assert.Contains("--epochs", end.Err);
        Assert.Single(end.Err.Trim().Split('\n'));
    }

    [Fact]
    public void Values_are_validated_with_the_old_messages_and_equals_form_works()
    {
        var neg = Run("train", "lenet5", "--batch-size", "0");
        Assert.Equal(2, neg.Code);
        Assert.Equal("error: --batch-size must be an integer ≥ 1, got '0'", neg.Err.Trim());
        var eq = Run("summary", "lenet5", "--image-size=32");
        Assert.Equal(0, eq.Code);
        Assert.Contains("[6, 32, 32]", eq.Out);
        var extra = Run("summary", "lenet5", "vgg11");
        Assert.Equal(2, extra.Code);
        Assert.Contains("'summary' takes one model name", extra.Err);
    }

    [Fact]
    public void Summary_json_gives_the_table_as_data_and_the_text_columns_line_up()
    {
        var (code, o, err) = Run("summary", "lenet5", "--json");
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(o);
        Assert.Equal(61706, doc.RootElement.GetProperty("total_parameters").GetInt64());
        var fc1 = doc.RootElement.GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("name").GetString() == "fc1");
        Assert.Equal(48120, fc1.GetProperty("parameters").GetInt64());
        Assert.Equal("full", fc1.GetProperty("receptive_field").GetString());
        // Long layer names (GoogLeNet's) widen their column instead of shifting the others: every row of the table
        // ends its parameter column at the same place as the header's "params".
        var text = Run("summary", "googlenet").Out.Split('\n');
        int end = text[1].IndexOf("params", StringComparison.Ordinal) + "params".Length;
        var rows = text.Skip(3).TakeWhile(l => !l.StartsWith('-')).ToList();
        Assert.True(rows.Count > 50);
        Assert.All(rows, r => Assert.Matches(@"\d$", r[..end]));
        Assert.All(rows, r => Assert.Equal(' ', r[end]));
    }
}

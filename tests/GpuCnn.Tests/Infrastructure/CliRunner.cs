namespace GpuCnn.Tests.Infrastructure;

/// <summary>Runs the <c>gpucnn</c> command in-process, as a user would type it, and captures what it prints.</summary>
public static class CliRunner
{
    /// <summary>The exit code, standard output and standard error of <c>gpucnn ARGS</c>.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = GpuCnn.Cli.CommandLine.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}

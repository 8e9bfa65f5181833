namespace GpuCnn.Data;

/// <summary>
/// A data file is corrupt, truncated or in the wrong format.
/// The message is one line, <c>"&lt;path&gt;: &lt;what is wrong&gt;"</c>, so a CLI can print it as is.
/// </summary>
public sealed class DataFormatException : IOException
{
    /// <summary>Creates the exception for <paramref name="path"/> with a one-line <paramref name="problem"/>.</summary>
    /// <param name="path">The file (or other source name) that is wrong.</param>
    /// <param name="problem">What is wrong, e.g. "truncated: expected 784 bytes of data, found 12".</param>
    public DataFormatException(string path, string problem)
        : this(path, problem, null)
    {
    }

    /// <summary>Creates the exception, keeping the low-level error (e.g. a zlib failure) as the inner exception.</summary>
    /// <param name="path">The file (or other source name) that is wrong.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="innerException">The error that revealed the problem, if any.</param>
    public DataFormatException(string path, string problem, Exception? innerException)
        : base($"{path}: {problem}", innerException)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file (or other source name) that is wrong.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}

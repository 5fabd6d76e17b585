using System.Globalization;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// An exclusive lock on an output folder, so that two processes never write one run or grid: the lock file is opened
/// with <see cref="FileShare.None"/> (an advisory <c>flock</c> on Unix, released by the kernel when the holder dies, so a
/// crashed run leaves no stale lock), and the holder's pid is written beside it for the message of the one refused.
/// </summary>
public sealed class OutputLock : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _ownerFile;

    private OutputLock(FileStream stream, string ownerFile)
    {
        _stream = stream;
        _ownerFile = ownerFile;
    }

    /// <summary>Takes the lock of <paramref name="directory"/> (created if needed) or throws <see cref="OutputLockedException"/>.</summary>
    /// <param name="directory">The folder.</param>
    /// <param name="option">How the message names the folder (e.g. "--out").</param>
    public static OutputLock Acquire(string directory, string option = "--out")
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (File.Exists(directory))
            throw new SettingException(option, $"{option} {directory} is a file, not a folder.");
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingException(option, $"{option} {directory}: cannot create the folder ({e.Message.TrimEnd('.')}).");
        }
        string path = Path.Combine(directory, ".lock");
        string owner = Path.Combine(directory, ".lock.owner");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            string who = File.Exists(owner) ? File.ReadAllText(owner).Trim() : "another process";
            throw new OutputLockedException($"{option} {directory} is in use by {who}; wait for it to finish or choose another {option}.");
        }
        catch (UnauthorizedAccessException e)
        {
            throw new SettingException(option, $"{option} {directory}: cannot write there ({e.Message.TrimEnd('.')}).");
        }
        File.WriteAllText(owner, string.Create(CultureInfo.InvariantCulture, $"process {Environment.ProcessId} on {Environment.MachineName}"));
        return new OutputLock(stream, owner);
    }

    /// <summary>
    /// Who holds (or last held) the lock of <paramref name="directory"/>, from the owner file written beside it: the
    /// process id and host name, or null when there is no owner file (nobody holds the lock: a holder deletes it when it
    /// releases the lock; a killed one leaves it behind) or it cannot be read.
    /// </summary>
    public static (int Pid, string Host)? Holder(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string owner = Path.Combine(directory, ".lock.owner");
        string text;
        try
        {
            if (!File.Exists(owner)) return null;
            text = File.ReadAllText(owner).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        // "process PID on HOST"
        var words = text.Split(' ', 4);
        return words.Length == 4 && words[0] == "process" && words[2] == "on" && int.TryParse(words[1], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            ? (pid, words[3])
            : null;
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(_ownerFile);
        }
        catch (IOException)
        {
        }
        _stream.Dispose();
    }
}

/// <summary>The output folder is locked by another process; the message names it.</summary>
public sealed class OutputLockedException(string message) : IOException(message);

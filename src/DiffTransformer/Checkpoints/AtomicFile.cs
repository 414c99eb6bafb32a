namespace DiffTransformer;

/// <summary>Writes files so that readers see either the old content or the complete new content, never a partial file.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Test hook: called with the temporary path after the new content is written and flushed, just before it replaces
    /// the target. Throwing from it simulates a crash at the last possible moment.
    /// </summary>
    internal static Action<string>? BeforeCommit;

    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            BeforeCommit?.Invoke(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}

namespace DiffTransformer;

/// <summary>
/// Replaces a whole directory so that a crash never leaves a mix of old and new files in it: the new content is written
/// to a hidden sibling directory, and only when every file is complete and flushed is the old directory renamed away
/// and the new one renamed into place. Between those two renames (microseconds) the path is briefly absent; the
/// previous content then still exists, complete, as <c>.NAME.old-*</c> beside it. Deleting that copy after the swap is
/// best-effort: the save has succeeded by then, so a failure there leaves the copy behind instead of throwing.
/// </summary>
internal static class AtomicDirectory
{
    /// <summary>Test hook: called with the temporary directory once it is complete, just before the swap.</summary>
    internal static Action<string>? BeforeCommit;

    /// <summary>Test hook: called with the previous content's directory after the swap, just before it is deleted.</summary>
    internal static Action<string>? BeforeCleanup;

    /// <summary>
    /// Writes <paramref name="directory"/> anew through <paramref name="write"/>, which receives the temporary directory
    /// to fill. An existing directory may only hold files named in <paramref name="replaceableFiles"/>; anything else
    /// makes this throw before writing, so that a save never deletes files it does not own.
    /// </summary>
    public static void Write(string directory, IReadOnlySet<string> replaceableFiles, Action<string> write, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory, parameterName);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        string parent = Path.GetDirectoryName(full)
            ?? throw new ArgumentException($"{parameterName} must not be a root directory; got '{directory}'.", parameterName);
        string name = Path.GetFileName(full);
        if (File.Exists(full))
            throw new ArgumentException($"{parameterName} must be a directory; '{full}' is a file.", parameterName);
        if (Directory.Exists(full)) CheckReplaceable(full, replaceableFiles, parameterName);

        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{name}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            write(temp);
            BeforeCommit?.Invoke(temp);
            if (Directory.Exists(full))
            {
                string old = Path.Combine(parent, $".{name}.old-{Guid.NewGuid():N}");
                Directory.Move(full, old);
                try
                {
                    Directory.Move(temp, full);
                }
                catch
                {
                    Directory.Move(old, full); // put the previous checkpoint back
                    throw;
                }
                DeleteBestEffort(old);
            }
            else
            {
                Directory.Move(temp, full);
            }
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    private static void DeleteBestEffort(string old)
    {
        try
        {
            BeforeCleanup?.Invoke(old);
            Directory.Delete(old, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The new content is in place; the old copy is only wasted space now, not a failed save.
        }
    }

    private static void CheckReplaceable(string full, IReadOnlySet<string> replaceableFiles, string parameterName)
    {
        var foreign = Directory.EnumerateFileSystemEntries(full)
            .Select(Path.GetFileName)
            .Where(entry => entry is null || !replaceableFiles.Contains(entry) || Directory.Exists(Path.Combine(full, entry)))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (foreign.Count > 0)
            throw new ArgumentException(
                $"{parameterName} '{full}' already exists and holds entries that are not part of a checkpoint " +
                $"({string.Join(", ", foreign)}); saving replaces the whole directory, so choose an empty or new directory.",
                parameterName);
    }
}

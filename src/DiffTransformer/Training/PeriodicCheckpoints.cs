using System.Globalization;

namespace DiffTransformer;

/// <summary>
/// The periodic checkpoints of <see cref="Trainer.Run"/>: directories <c>checkpoint-STEP</c> inside
/// <see cref="TrainingOptions.CheckpointDirectory"/>. Each is written by <see cref="Trainer.SaveCheckpoint"/>, whose
/// atomic directory swap makes a <c>checkpoint-STEP</c> name appear only once its content is complete; a write cut short
/// leaves a hidden <c>.checkpoint-STEP.tmp-*</c> directory behind instead. Old checkpoints are removed only after a new
/// one is in place, and are first renamed to a hidden <c>.checkpoint-STEP.deleting-*</c> so that an interrupted delete
/// never leaves a half-deleted <c>checkpoint-STEP</c>. So every visible <c>checkpoint-STEP</c> is complete.
/// </summary>
internal static class PeriodicCheckpoints
{
    public const string Prefix = "checkpoint-";

    /// <summary>Test hook: called with an old checkpoint's hidden name once it is renamed away, just before it is deleted.</summary>
    internal static Action<string>? BeforeDelete;

    /// <summary>The newest <c>checkpoint-STEP</c> in <paramref name="directory"/> by step, or null (none, or no directory).</summary>
    public static string? FindLatest(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return List(directory).Select(c => c.Path).LastOrDefault();
    }

    /// <summary>
    /// Removes what interrupted saves and deletes left behind: <c>.checkpoint-STEP.tmp-*</c> and
    /// <c>.checkpoint-STEP.deleting-*</c> directories, and <c>.checkpoint-STEP.old-*</c> ones whose
    /// <c>checkpoint-STEP</c> is in place (one without it is the only complete copy of that step and is kept).
    /// </summary>
    public static void RemoveLeftovers(string directory)
    {
        if (!Directory.Exists(directory)) return;
        foreach (string path in Directory.EnumerateDirectories(directory, "." + Prefix + "*"))
        {
            string name = Path.GetFileName(path);
            int dot = name.IndexOf('.', 1);
            if (dot < 0 || ParseStep(name[1..dot]) is null) continue;
            string rest = name[(dot + 1)..];
            bool stale = rest.StartsWith("tmp-", StringComparison.Ordinal) || rest.StartsWith("deleting-", StringComparison.Ordinal) ||
                (rest.StartsWith("old-", StringComparison.Ordinal) && Directory.Exists(Path.Combine(directory, name[1..dot])));
            if (stale) DeleteBestEffort(path);
        }
    }

    /// <summary>
    /// Saves <paramref name="trainer"/> as <c>checkpoint-STEP</c> in <paramref name="directory"/>, then deletes the oldest
    /// checkpoints beyond <paramref name="kept"/> (never the new one). Returns the new checkpoint's path.
    /// </summary>
    public static string Save(Trainer trainer, string directory, int? kept)
    {
        string path = Path.Combine(directory, Prefix + trainer.CompletedSteps.ToString(CultureInfo.InvariantCulture));
        trainer.SaveCheckpoint(path);
        if (kept is { } limit)
        {
            var old = List(directory).Where(c => c.Path != Path.GetFullPath(path)).ToList();
            foreach (var (_, stale) in old.Take(Math.Max(0, old.Count - (limit - 1)))) Delete(stale);
        }
        return path;
    }

    /// <summary>The <c>checkpoint-STEP</c> directories, oldest first, as full paths.</summary>
    private static List<(long Step, string Path)> List(string directory)
    {
        if (!Directory.Exists(directory)) return new();
        return Directory.EnumerateDirectories(Path.GetFullPath(directory), Prefix + "*")
            .Select(path => (Step: ParseStep(Path.GetFileName(path)), Path: path))
            .Where(c => c.Step is not null)
            .Select(c => (c.Step!.Value, c.Path))
            .OrderBy(c => c.Value)
            .ToList();
    }

    /// <summary>The step of a name <c>checkpoint-STEP</c> (canonical decimal, no sign or leading zeros), else null.</summary>
    private static long? ParseStep(string name)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        string digits = name[Prefix.Length..];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long step)) return null;
        return step.ToString(CultureInfo.InvariantCulture) == digits ? step : null;
    }

    private static void Delete(string path)
    {
        string parent = Path.GetDirectoryName(path)!;
        string hidden = Path.Combine(parent, $".{Path.GetFileName(path)}.deleting-{Guid.NewGuid():N}");
        try
        {
            Directory.Move(path, hidden); // atomic: the checkpoint is either all there or gone
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // the new checkpoint is saved; an old one that cannot be removed only wastes space
        }
        BeforeDelete?.Invoke(hidden);
        DeleteBestEffort(hidden);
    }

    private static void DeleteBestEffort(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next clean-up.
        }
    }
}

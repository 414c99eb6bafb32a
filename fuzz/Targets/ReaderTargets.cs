using System.Diagnostics;

namespace DiffTransformer.Fuzz;

/// <summary>
/// The fuzz targets, one per reader of untrusted bytes, and the invariant every one must keep: for any input the reader
/// returns a valid result or throws <see cref="InvalidDataException"/> or <see cref="ArgumentException"/> (subclasses
/// included, e.g. <see cref="CheckpointMismatchException"/>) whose message names the file (or the directory, for the
/// readers that take one); never another exception type, never longer than <see cref="MaxTime"/>, never more than
/// <see cref="MaxAllocatedBytes"/> of managed allocations, and no tensor data beyond the input's own size. No target
/// allows <see cref="FileNotFoundException"/>: every file a target's reader opens is there. Compiled into the fuzz
/// program (fed by AFL++) and into the test project (which replays fuzz/corpus and fuzz/findings).
/// </summary>
internal static class ReaderTargets
{
    /// <summary>Managed bytes a reader may allocate for one input.</summary>
    public const long MaxAllocatedBytes = 64L << 20;

    /// <summary>Time a reader may take for one input (in the campaign; the replay test allows more, see there).</summary>
    public static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(1);

    private static readonly Dictionary<string, Func<FuzzWorkspace, byte[], string>> Targets = new(StringComparer.Ordinal)
    {
        ["safetensors"] = ReaderCalls.Safetensors,
        ["config"] = ReaderCalls.Config,
        ["trainer-state"] = ReaderCalls.TrainerState,
        ["optimizer"] = ReaderCalls.Optimizer,
        ["hf-index"] = ReaderCalls.HuggingFaceIndex,
        ["hf-config"] = ReaderCalls.HuggingFaceConfig,
        ["hf-generation-config"] = ReaderCalls.HuggingFaceGenerationConfig,
        ["tokenizer-json"] = ReaderCalls.TokenizerJson,
        ["tokenizer-model"] = ReaderCalls.TokenizerModel,
        ["tokenizer-config"] = ReaderCalls.TokenizerConfig,
    };

    /// <summary>The target names, as given on the fuzz program's command line and used as corpus folder names.</summary>
    public static IReadOnlyCollection<string> Names => Targets.Keys;

    /// <summary>
    /// Feeds <paramref name="input"/> to <paramref name="target"/>'s reader and checks the invariant. Returns "accepted" or
    /// the rejection's message; throws <see cref="FuzzInvariantException"/> when the invariant is broken, and lets any
    /// exception of a type not allowed escape.
    /// </summary>
    public static string Run(string target, FuzzWorkspace workspace, byte[] input, TimeSpan timeLimit)
    {
        var (outcome, elapsed, allocated) = Measure(target, workspace, input);
        // A slow input is timed once more before it counts: on a shared machine one run can stall for reasons of its own.
        if (elapsed > timeLimit) (outcome, elapsed, allocated) = Measure(target, workspace, input);
        if (elapsed > timeLimit)
            throw new FuzzInvariantException($"{target}: took {elapsed.TotalMilliseconds:F0} ms twice (limit {timeLimit.TotalMilliseconds:F0} ms) on {input.Length} bytes; outcome: {outcome}");
        if (allocated > MaxAllocatedBytes)
            throw new FuzzInvariantException($"{target}: allocated {allocated} managed bytes (limit {MaxAllocatedBytes}) on {input.Length} bytes; outcome: {outcome}");
        return outcome;
    }

    private static (string Outcome, TimeSpan Elapsed, long Allocated) Measure(string target, FuzzWorkspace workspace, byte[] input)
    {
        var read = Targets[target];
        string named = workspace.Prepare(target); // every file a target's reader reads lies there
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var watch = Stopwatch.StartNew();
        string outcome;
        try
        {
            outcome = read(workspace, input);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            if (!e.Message.Contains(named, StringComparison.Ordinal))
                throw new FuzzInvariantException($"{target}: the {e.GetType().Name} does not name the file (under '{named}'): {e.Message}", e);
            outcome = e.Message;
        }
        watch.Stop();
        return (outcome, watch.Elapsed, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
    }
}

namespace DiffTransformer;

/// <summary>
/// Keeps the weight updates of a <see cref="DiffTransformerLM"/> (<see cref="Trainer.Step"/>, checkpoint loads) from
/// overlapping the calls that read its weights (forwards, losses, generations). One <see cref="int"/>: the number of
/// readers, or <c>-1</c> while an update runs. Neither side waits: a reader that meets an update, or an update that
/// meets readers, throws <see cref="InvalidOperationException"/>, so a call sees either the old weights or the new ones,
/// never a mix. Cost: one compare-and-swap to enter and one atomic decrement to leave. Not thread-affine, so a section
/// may be entered on one thread and left on another (the async stream).
/// </summary>
internal sealed class WeightGuard
{
    const int Updating = -1;
    int state;         // readers, or Updating
    string? updater;   // the update in progress, for the messages
    long version;      // completed updates; changed only inside an update

    /// <summary>Completed weight updates; a <see cref="KvCache"/> remembers the version its keys were computed with.</summary>
    public long Version => Interlocked.Read(ref version);

    /// <summary>Enters a reading section for <paramref name="operation"/>; throws while an update runs.</summary>
    public void EnterRead(string operation)
    {
        while (true)
        {
            int current = Volatile.Read(ref state);
            if (current == Updating)
                throw new InvalidOperationException(
                    $"{operation} cannot run on this DiffTransformerLM while {Volatile.Read(ref updater) ?? "a weight update"} is changing its weights " +
                    "(on another thread): inference must not overlap a weight update, which would mix old and new weights. Retry after the update.");
            if (Interlocked.CompareExchange(ref state, current + 1, current) == current) return;
        }
    }

    /// <summary>Leaves a reading section entered by <see cref="EnterRead"/>.</summary>
    public void ExitRead() => Interlocked.Decrement(ref state);

    /// <summary>Enters the update section for <paramref name="operation"/>; throws while any reader or another update is active.</summary>
    public void EnterUpdate(string operation)
    {
        int current = Interlocked.CompareExchange(ref state, Updating, 0);
        if (current == Updating)
            throw new InvalidOperationException(
                $"{operation} cannot change the weights of this DiffTransformerLM while {Volatile.Read(ref updater) ?? "another update"} is changing them " +
                "(on another thread). Nothing was changed.");
        if (current != 0)
            throw new InvalidOperationException(
                $"{operation} cannot change the weights of this DiffTransformerLM while inference runs on it ({current} active forward, loss or " +
                "generation sections, an unfinished stream included, possibly on other threads): they would read a mix of old and new weights. " +
                "Nothing was changed; finish or dispose them first.");
        Volatile.Write(ref updater, operation);
    }

    /// <summary>Leaves the update section entered by <see cref="EnterUpdate"/>: the weights have a new version.</summary>
    public void ExitUpdate()
    {
        Interlocked.Increment(ref version);
        Volatile.Write(ref updater, null);
        Volatile.Write(ref state, 0);
    }
}

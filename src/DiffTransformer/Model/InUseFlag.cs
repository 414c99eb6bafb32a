namespace DiffTransformer;

/// <summary>
/// Marks a <see cref="KvCache"/> (or a standalone <see cref="KvCacheLayer"/>) as used by one call: a cache holds one
/// sequence, so a second call that overlaps the first, on any thread, is refused with
/// <see cref="InvalidOperationException"/> instead of interleaving two sequences in one buffer. The layers of a cache
/// share its flag. Cost: one compare-and-swap to enter, one write to leave; not thread-affine.
/// </summary>
internal sealed class InUseFlag(string owner)
{
    int held;

    /// <summary>Takes the flag for <paramref name="operation"/>; throws when another call holds it.</summary>
    public void Enter(string operation)
    {
        if (Interlocked.CompareExchange(ref held, 1, 0) != 0)
            throw new InvalidOperationException(
                $"{operation}: this {owner} is already in use by another call (a forward, or a generation or stream that has not finished, " +
                "possibly on another thread). A cache holds one sequence at a time: give every concurrent request its own cache.");
    }

    /// <summary>Releases the flag taken by <see cref="Enter"/>.</summary>
    public void Exit() => Volatile.Write(ref held, 0);

    /// <summary>Throws when a call holds the flag: <paramref name="operation"/> would change the cache under it.</summary>
    public void ThrowIfHeld(string operation)
    {
        if (Volatile.Read(ref held) != 0)
            throw new InvalidOperationException(
                $"{operation}: this {owner} is in use by a call (a forward, or a generation or stream that has not finished, possibly on " +
                "another thread); it cannot be changed or disposed until that call ends.");
    }
}

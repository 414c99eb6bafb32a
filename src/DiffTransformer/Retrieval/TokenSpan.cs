namespace DiffTransformer.Retrieval;

/// <summary>A run of consecutive token positions <c>[Start, Start + Length)</c>.</summary>
/// <param name="Start">First position.</param>
/// <param name="Length">Number of positions (at least 0).</param>
public readonly record struct TokenSpan(int Start, int Length)
{
    /// <summary>One past the last position.</summary>
    public int End => Start + Length;

    /// <summary>True when <paramref name="position"/> lies in the span.</summary>
    public bool Contains(int position) => position >= Start && position < End;
}

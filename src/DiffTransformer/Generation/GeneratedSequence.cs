namespace DiffTransformer;

/// <summary>The new tokens of one prompt.</summary>
public sealed class GeneratedSequence
{
    internal GeneratedSequence(long[] tokens, FinishReason finishReason)
    {
        Tokens = tokens;
        FinishReason = finishReason;
    }

    /// <summary>The generated tokens, prompt excluded; ends with the stop token when <see cref="FinishReason"/> is <see cref="DiffTransformer.FinishReason.StopToken"/>.</summary>
    public IReadOnlyList<long> Tokens { get; }

    /// <summary>Why the row stopped.</summary>
    public FinishReason FinishReason { get; }

    /// <inheritdoc />
    public override string ToString() => $"[{string.Join(", ", Tokens)}] ({FinishReason})";
}

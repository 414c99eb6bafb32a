namespace DiffTransformer;

/// <summary>Why a row stopped generating.</summary>
public enum FinishReason
{
    /// <summary>The row reached <see cref="GenerationOptions.MaxNewTokens"/> (Hugging Face: <c>length</c>).</summary>
    Length,

    /// <summary>The row produced one of <see cref="GenerationOptions.StopTokens"/>, which ends its output (Hugging Face: <c>stop</c>).</summary>
    StopToken,
}

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

/// <summary>One token of a generation stream.</summary>
/// <param name="Row">Index of the prompt in the batch (0 for a single prompt).</param>
/// <param name="Index">Position of the token among the row's new tokens (0 for the first).</param>
/// <param name="Token">The token id.</param>
/// <param name="FinishReason">Set on the row's last token: why the row stops; null while it goes on.</param>
public readonly record struct GeneratedToken(int Row, int Index, long Token, FinishReason? FinishReason);

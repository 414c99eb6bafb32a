namespace DiffTransformer;

/// <summary>Why a row stopped generating.</summary>
public enum FinishReason
{
    /// <summary>The row reached <see cref="GenerationOptions.MaxNewTokens"/> (Hugging Face: <c>length</c>).</summary>
    Length,

    /// <summary>The row produced one of <see cref="GenerationOptions.StopTokens"/>, which ends its output (Hugging Face: <c>stop</c>).</summary>
    StopToken,
}

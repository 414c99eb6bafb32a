namespace DiffTransformer;

/// <summary>One token of a generation stream.</summary>
/// <param name="Row">Index of the prompt in the batch (0 for a single prompt).</param>
/// <param name="Index">Position of the token among the row's new tokens (0 for the first).</param>
/// <param name="Token">The token id.</param>
/// <param name="FinishReason">Set on the row's last token: why the row stops; null while it goes on.</param>
public readonly record struct GeneratedToken(int Row, int Index, long Token, FinishReason? FinishReason);

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>Mean next-token loss over scored targets and its perplexity.</summary>
/// <param name="Loss">Mean cross-entropy (nats per token) over all scored targets.</param>
/// <param name="Tokens">Scored targets (those not equal to <see cref="TrainingBatch.IgnoreIndex"/>).</param>
public readonly record struct EvaluationResult(double Loss, long Tokens)
{
    /// <summary><c>exp(Loss)</c>.</summary>
    public double Perplexity => Math.Exp(Loss);
}

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Generation;

/// <summary>
/// The logits processors and the token choice of <see cref="GenerationExtensions"/>, with Hugging Face semantics. All
/// take next-token scores <c>[batch, vocab]</c> (floating point) and return new tensors on the same device; removed
/// tokens get <c>-inf</c>.
/// </summary>
public static class LogitsProcessing
{
    /// <summary>
    /// Hugging Face <c>RepetitionPenaltyLogitsProcessor</c>: where <paramref name="seen"/> (bool <c>[batch, vocab]</c>) is
    /// true, positive scores are divided by <paramref name="penalty"/> and negative ones multiplied by it.
    /// </summary>
    public static Tensor ApplyRepetitionPenalty(Tensor scores, Tensor seen, double penalty)
    {
        CheckScores(scores);
        CheckSeen(seen, scores);
        Guard.PositiveFinite(penalty, nameof(penalty));
        return RepetitionPenalty(scores, seen, penalty);
    }

    /// <summary>Divides the scores by <paramref name="temperature"/> (&gt; 0).</summary>
    public static Tensor ApplyTemperature(Tensor scores, double temperature)
    {
        CheckScores(scores);
        Guard.PositiveFinite(temperature, nameof(temperature));
        return scores.DividedBy(temperature);
    }

    /// <summary>
    /// Hugging Face <c>TopKLogitsWarper</c>: keeps the scores not below the <paramref name="topK"/>-th highest of their row
    /// (ties at the boundary are kept; <paramref name="topK"/> larger than the vocabulary keeps everything).
    /// </summary>
    public static Tensor ApplyTopK(Tensor scores, int topK)
    {
        CheckScores(scores);
        Guard.AtLeast(topK, nameof(topK), 1);
        return TopK(scores, topK);
    }

    /// <summary>
    /// Hugging Face <c>TopPLogitsWarper</c> (nucleus): sorts each row ascending and removes the tokens whose cumulative
    /// probability is at most <c>1 - topP</c>, always keeping the most likely token. <paramref name="topP"/> in (0, 1].
    /// </summary>
    public static Tensor ApplyTopP(Tensor scores, double topP)
    {
        CheckScores(scores);
        Guard.PositiveUpToOne(topP, nameof(topP));
        return TopP(scores, topP);
    }

    /// <summary>
    /// Applies the processors <paramref name="options"/> asks for, in the Hugging Face order (repetition penalty, then
    /// temperature, top-k, top-p), to float scores <c>[batch, vocab]</c>. <paramref name="seen"/> (bool
    /// <c>[batch, vocab]</c>) is needed only with a repetition penalty. Greedy options skip the sampling warpers, which
    /// never change the highest score.
    /// </summary>
    public static Tensor Process(Tensor scores, GenerationOptions options, Tensor? seen = null)
    {
        CheckScores(scores);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate((int)scores.shape[1]);
        if (options.RepetitionPenalty != 1)
            CheckSeen(seen ?? throw new ArgumentNullException(nameof(seen), "seen is needed with a repetition penalty."), scores);
        return ProcessUnchecked(scores, options, seen);
    }

    /// <summary>
    /// <see cref="Process"/> without its checks, for a generation that validated its options once: scores of the model's
    /// vocabulary, <paramref name="seen"/> present with a repetition penalty.
    /// </summary>
    internal static Tensor ProcessUnchecked(Tensor scores, GenerationOptions options, Tensor? seen)
    {
        using var scope = NewDisposeScope();
        var result = scores;
        if (options.RepetitionPenalty != 1) result = RepetitionPenalty(result, seen!, options.RepetitionPenalty);
        if (options.Samples)
        {
            if (options.Temperature != 1) result = result.DividedBy(options.Temperature);
            if (options.TopK > 0) result = TopK(result, options.TopK);
            if (options.TopP < 1) result = TopP(result, options.TopP);
        }
        return (ReferenceEquals(result, scores) ? result.alias() : result).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Chooses one token per row from processed scores <c>[batch, vocab]</c>: the argmax when <paramref name="sample"/> is
    /// false, otherwise a draw from <c>softmax(scores)</c> using <paramref name="generator"/> (null: the global one).
    /// Returns int64 <c>[batch]</c>.
    /// </summary>
    public static Tensor Choose(Tensor scores, bool sample, Generator? generator = null)
    {
        CheckScores(scores);
        if (!sample) return scores.argmax(1);
        using var scope = NewDisposeScope();
        var probabilities = scores.softmax(1);
        return probabilities.multinomial(1, generator: generator).squeeze(1).MoveToOuterDisposeScope();
    }

    private static Tensor RepetitionPenalty(Tensor scores, Tensor seen, double penalty)
    {
        using var scope = NewDisposeScope();
        var penalised = where(scores.Less(0), scores.Times(penalty), scores.DividedBy(penalty));
        return where(seen.to(ScalarType.Bool), penalised, scores).MoveToOuterDisposeScope();
    }

    private static Tensor TopK(Tensor scores, int topK)
    {
        using var scope = NewDisposeScope();
        int k = (int)Math.Min(topK, scores.shape[1]);
        var kth = scores.topk(k, dim: 1).values.narrow(1, k - 1, 1);
        return scores.Filled(scores < kth, double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    private static Tensor TopP(Tensor scores, double topP)
    {
        using var scope = NewDisposeScope();
        var (sorted, order) = scores.sort(dim: 1, descending: false);
        var cumulative = sorted.softmax(1).cumsum(1);
        var removeSorted = cumulative.AtMostMask(1 - topP);
        removeSorted.narrow(1, scores.shape[1] - 1, 1).zero_(); // the most likely token stays
        var remove = removeSorted.scatter(1, order, removeSorted);
        return scores.Filled(remove, double.NegativeInfinity).MoveToOuterDisposeScope();
    }

    private static void CheckSeen(Tensor seen, Tensor scores)
    {
        if (seen is null || !seen.shape.SequenceEqual(scores.shape))
            throw new ArgumentException($"seen must have the shape of scores {Guard.Shape(scores)}; got {(seen is null ? "null" : Guard.Shape(seen))}.", nameof(seen));
    }

    private static void CheckScores(Tensor scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.dim() != 2 || scores.shape[0] < 1 || scores.shape[1] < 1)
            throw new ArgumentException($"scores must have shape [batch, vocab] with both >= 1; got {Guard.Shape(scores)}.", nameof(scores));
        if (!is_floating_point(scores))
            throw new ArgumentException($"scores must be floating point; got dtype {scores.dtype}.", nameof(scores));
    }
}

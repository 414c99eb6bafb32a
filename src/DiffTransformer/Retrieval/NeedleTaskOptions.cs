namespace DiffTransformer.Retrieval;

/// <summary>
/// Shape of a <see cref="NeedleRetrievalTask"/>: a multi-needle key-value retrieval task in the style of the paper's
/// needle-in-a-haystack evaluation, scaled down so that tiny models learn it in minutes. Every example is
/// <c>[BOS, context (SequenceLength - 3 tokens), QUERY, key]</c>; the context is filler tokens with
/// <see cref="NeedleCount"/> needles <c>[NEEDLE, key, value]</c> hidden in it, and the model must predict the value of the
/// queried key at the last position.
/// </summary>
public sealed record NeedleTaskOptions
{
    /// <summary>Input tokens per example (BOS, context, QUERY, key); the context is <c>SequenceLength - 3</c> tokens.</summary>
    public int SequenceLength { get; init; } = 48;

    /// <summary>Needles per example; one of them is queried, the others are distractors.</summary>
    public int NeedleCount { get; init; } = 3;

    /// <summary>Distinct key tokens (the keys of one example are distinct).</summary>
    public int KeyCount { get; init; } = 16;

    /// <summary>
    /// Values per key when <see cref="KeyedValues"/>, otherwise distinct value tokens shared by all keys. The values of
    /// one example are distinct either way, so a distractor's value is always wrong.
    /// </summary>
    public int ValueCount { get; init; } = 16;

    /// <summary>
    /// False (the default): all keys share the <see cref="ValueCount"/> value tokens, so only the position after the key
    /// says which value belongs to it, and retrieval needs two attention hops (an induction circuit: one layer copies
    /// the key into the value's position, the next matches the query against it). True: every key has its own
    /// <see cref="ValueCount"/> value tokens (<c>KeyCount * ValueCount</c> in all), so the value token itself names its
    /// key and retrieval is one content match, which tiny models learn in a few hundred steps.
    /// </summary>
    public bool KeyedValues { get; init; }

    /// <summary>Distinct filler tokens that make up the distractor context.</summary>
    public int FillerCount { get; init; } = 28;

    /// <summary>Examples per training and validation batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Fixed validation examples; depth buckets take turns, so every bucket gets the same share.</summary>
    public int ValidationExamples { get; init; } = 256;

    /// <summary>
    /// Depth buckets of the queried needle: bucket <c>b</c> holds needles whose start lies at relative depth
    /// <c>[b / DepthBuckets, (b + 1) / DepthBuckets)</c> of the context (0 = right after BOS, 1 = right before the query).
    /// </summary>
    public int DepthBuckets { get; init; } = 4;

    /// <summary>Seed of all examples; training batch <c>i</c> depends only on the seed and <c>i</c>.</summary>
    public long Seed { get; init; }

    /// <summary>Tokens in the context between BOS and the query.</summary>
    public int ContextLength => SequenceLength - 3;

    /// <summary>Vocabulary of the task: BOS, NEEDLE and QUERY markers, keys, values and fillers.</summary>
    public int VocabSize => 3 + KeyCount + ValueTokenCount + FillerCount;

    /// <summary>Value tokens in the vocabulary: <c>KeyCount * ValueCount</c> with <see cref="KeyedValues"/>, else <see cref="ValueCount"/>.</summary>
    public int ValueTokenCount => KeyedValues ? KeyCount * ValueCount : ValueCount;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option that breaks its rule.</summary>
    public void Validate()
    {
        Guard.Positive(NeedleCount, nameof(NeedleCount));
        Guard.Positive(FillerCount, nameof(FillerCount));
        Guard.Positive(BatchSize, nameof(BatchSize));
        Guard.Positive(ValidationExamples, nameof(ValidationExamples));
        Guard.Positive(DepthBuckets, nameof(DepthBuckets));
        if (KeyCount < NeedleCount)
            throw new ArgumentOutOfRangeException(nameof(KeyCount), KeyCount, $"KeyCount must be at least NeedleCount ({NeedleCount}) so that keys are distinct; got {KeyCount}.");
        if (KeyedValues) Guard.Positive(ValueCount, nameof(ValueCount));
        else if (ValueCount < NeedleCount)
            throw new ArgumentOutOfRangeException(nameof(ValueCount), ValueCount, $"ValueCount must be at least NeedleCount ({NeedleCount}) so that values are distinct; got {ValueCount}.");
        // Each placed needle blocks at most 5 start positions, so 5 per needle always leaves room for the next one.
        int minimum = 3 + 5 * NeedleCount;
        if (SequenceLength < minimum)
            throw new ArgumentOutOfRangeException(nameof(SequenceLength), SequenceLength,
                $"SequenceLength must be at least 3 + 5 * NeedleCount = {minimum} to hide {NeedleCount} needles; got {SequenceLength}.");
        // Bucket b covers depths [b / B, (b + 1) / B) of the last start ContextLength - 3; each needs a whole position.
        int lastStart = ContextLength - 3;
        if (DepthBuckets > lastStart)
            throw new ArgumentOutOfRangeException(nameof(DepthBuckets), DepthBuckets,
                $"DepthBuckets must be at most SequenceLength - 6 = {lastStart} so that every bucket holds a needle position; got {DepthBuckets}.");
    }
}

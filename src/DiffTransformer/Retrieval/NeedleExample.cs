namespace DiffTransformer.Retrieval;

/// <summary>
/// One example of a <see cref="NeedleRetrievalTask"/> with everything evaluation needs to know about it: the input
/// tokens, the answer, where the queried needle is hidden and where the query is.
/// </summary>
public sealed class NeedleExample
{
    internal NeedleExample(long[] tokens, long answer, TokenSpan answerSpan, TokenSpan context, int[] needleStarts,
        int queriedNeedle, double depth, int depthBucket)
    {
        Tokens = tokens;
        Answer = answer;
        AnswerSpan = answerSpan;
        Context = context;
        NeedleStarts = needleStarts;
        QueriedNeedle = queriedNeedle;
        Depth = depth;
        DepthBucket = depthBucket;
    }

    /// <summary>The input tokens <c>[SequenceLength]</c>: BOS, context, QUERY, key.</summary>
    public IReadOnlyList<long> Tokens { get; }

    /// <summary>The value token the model must predict at <see cref="QueryPosition"/>.</summary>
    public long Answer { get; }

    /// <summary>Position of the last input token (the queried key), where the answer is predicted.</summary>
    public int QueryPosition => Tokens.Count - 1;

    /// <summary>The queried needle <c>[NEEDLE, key, value]</c> in the context: the span attention should find.</summary>
    public TokenSpan AnswerSpan { get; }

    /// <summary>The context between BOS and the query (answer span, distractor needles and filler).</summary>
    public TokenSpan Context { get; }

    /// <summary>Start positions of all needles, in order of position.</summary>
    public IReadOnlyList<int> NeedleStarts { get; }

    /// <summary>Index into <see cref="NeedleStarts"/> of the queried needle.</summary>
    public int QueriedNeedle { get; }

    /// <summary>Relative depth of the queried needle in the context, in [0, 1]: 0 right after BOS, 1 right before the query.</summary>
    public double Depth { get; }

    /// <summary>The depth bucket (see <see cref="NeedleTaskOptions.DepthBuckets"/>).</summary>
    public int DepthBucket { get; }
}

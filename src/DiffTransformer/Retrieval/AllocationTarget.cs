using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Retrieval;

/// <summary>Which attention weights one query's allocation is measured over.</summary>
/// <param name="QueryPosition">The query row of the maps (for a needle example, its last position).</param>
/// <param name="Answer">Key positions that hold the answer (the queried needle).</param>
/// <param name="Context">Key positions of the context; those outside <paramref name="Answer"/> are the distractors.</param>
public readonly record struct AllocationTarget(int QueryPosition, TokenSpan Answer, TokenSpan Context)
{
    /// <summary>The target of a <see cref="NeedleExample"/>: its query position, answer span and context.</summary>
    public static AllocationTarget Of(NeedleExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        return new AllocationTarget(example.QueryPosition, example.AnswerSpan, example.Context);
    }
}

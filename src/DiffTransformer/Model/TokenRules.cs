using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>What a <see cref="DiffTransformerLM"/> accepts as tokens: the shape and dtype rule, the length and the id range.</summary>
internal sealed class TokenRules(long vocabSize, long maxSequenceLength)
{
    /// <summary>All checks; reads the id range back from the device (one copy).</summary>
    public void Check(Tensor tokens, long past, string name)
    {
        CheckShape(tokens, past, name);
        using var scope = NewDisposeScope();
        var range = stack(new[] { tokens.min(), tokens.max() }).to(ScalarType.Int64).cpu();
        CheckRange(range[0].item<long>(), range[1].item<long>(), name);
    }

    /// <summary>The checks that need no values from the device: <see cref="Guard.TokenIds"/> and the length.</summary>
    public void CheckShape(Tensor tokens, long past, string name)
    {
        Guard.TokenIds(tokens, name);
        if (past + tokens.shape[1] > maxSequenceLength)
            throw new ArgumentException(
                $"{name} would make the sequence {past + tokens.shape[1]} tokens long (cached {past} + new {tokens.shape[1]}); MaxSequenceLength is {maxSequenceLength}.",
                name);
    }

    /// <summary>The id range rule, on values already read back.</summary>
    public void CheckRange(long min, long max, string name)
    {
        if (min < 0 || max >= vocabSize)
            throw new ArgumentException($"{name} must lie in [0, {vocabSize}) (VocabSize); got values from {min} to {max}.", name);
    }
}

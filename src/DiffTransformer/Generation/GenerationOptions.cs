namespace DiffTransformer;

/// <summary>
/// How <see cref="GenerationExtensions"/> chooses new tokens. The defaults decode greedily for up to 64 tokens, as a
/// Hugging Face <c>generate()</c> call does without <c>do_sample</c>. Logits are processed in the Hugging Face order:
/// repetition penalty and stop-token suppression (<see cref="MinNewTokens"/>), then temperature, top-k and top-p.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate per prompt (at least 1). The longest prompt plus this must fit in <see cref="DiffTransformerConfig.MaxSequenceLength"/>.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Stop tokens are suppressed until a row has this many new tokens (Hugging Face <c>min_new_tokens</c>). Default 0.</summary>
    public int MinNewTokens { get; init; }

    /// <summary>
    /// Softmax temperature of sampling. 0 (the default) decodes greedily: the highest processed logit wins (ties: the
    /// lowest id) and no random numbers are drawn. Above 0, the next token is drawn from <c>softmax(logits / Temperature)</c>
    /// restricted by <see cref="TopK"/> and <see cref="TopP"/>.
    /// </summary>
    public double Temperature { get; init; }

    /// <summary>Sample only among the <c>TopK</c> highest logits (ties at the boundary are kept). 0 (the default) disables it.</summary>
    public int TopK { get; init; }

    /// <summary>
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probabilities sum to at least <c>TopP</c>
    /// (always at least one token). In (0, 1]; 1 (the default) disables it.
    /// </summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>
    /// Hugging Face / CTRL repetition penalty for every token already in the row (prompt or generated, padding excluded):
    /// positive logits are divided by it, negative ones multiplied. Greater than 0; 1 (the default) disables it.
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1.0;

    /// <summary>
    /// Token ids that end a row (Hugging Face <c>eos_token_id</c>). The stop token is part of the row's output; a finished
    /// row takes no more tokens, and generation ends when every row has finished. Null (the default) takes the model's
    /// <see cref="DiffTransformerLM.StopTokens"/> (none for a model built here, the <c>eos_token_id</c> of a loaded
    /// Hugging Face model), as <c>generate()</c> takes the generation config's; an empty list stops at no token.
    /// </summary>
    public IReadOnlyList<long>? StopTokens { get; init; }

    /// <summary>
    /// Seed of a private <c>torch.Generator</c> on the model's device, making sampling reproducible (for the same prompts,
    /// options, device and batch), also while other generations run on other threads. Null (the default) draws from
    /// TorchSharp's global generator (<c>torch.manual_seed</c>), which every thread shares: concurrent unseeded sampling is
    /// safe, but which draws each generation gets depends on how the threads interleave, so it is not reproducible.
    /// </summary>
    public long? Seed { get; init; }

    /// <summary>
    /// When set, every model call of the generation runs the naive kernel and hands each layer's attention maps to this
    /// callback as <c>(step, layer, maps)</c>: step 0 is the prompt (maps <c>[batch, heads, promptTime, promptTime]</c>),
    /// step s &gt; 0 feeds new token s-1 (maps <c>[batch, heads, 1, cached + 1]</c>). The callback owns (and should
    /// dispose) the maps. It runs on the generating thread (a thread-pool thread for the async stream).
    /// </summary>
    public Action<int, int, AttentionMaps>? AttentionMapsCaptured { get; init; }

    /// <summary>True when tokens are sampled (<see cref="Temperature"/> &gt; 0) rather than chosen greedily.</summary>
    public bool Samples => Temperature > 0;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> (naming the property, the rule and the value) unless every option is valid
    /// for a model with <paramref name="vocabSize"/> tokens.
    /// </summary>
    public void Validate(int vocabSize)
    {
        Guard.AtLeast(MaxNewTokens, nameof(MaxNewTokens), 1);
        Guard.UpTo(MinNewTokens, nameof(MinNewTokens), MaxNewTokens, nameof(MaxNewTokens));
        Guard.NonNegativeFinite(Temperature, nameof(Temperature));
        Guard.NonNegative(TopK, nameof(TopK));
        Guard.PositiveUpToOne(TopP, nameof(TopP));
        Guard.PositiveFinite(RepetitionPenalty, nameof(RepetitionPenalty));
        if (StopTokens is null) return;
        for (int i = 0; i < StopTokens.Count; i++)
            Guard.Index(StopTokens[i], $"{nameof(StopTokens)}[{i}]", vocabSize, nameof(DiffTransformerConfig.VocabSize), nameof(StopTokens));
    }
}

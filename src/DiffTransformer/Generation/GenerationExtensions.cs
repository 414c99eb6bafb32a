using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Text generation with a <see cref="DiffTransformerLM"/>: the prompts run through the model in one call (prefill) that
/// fills a KV cache on the model's device, then each step feeds one token per row. Prompts of different lengths are
/// left-padded into one batch; padding is masked and every row's positions start at its first real token, so each row
/// computes what it would alone. Runs without gradients, in the model's dtype, with either attention kernel.
/// Device-to-host copies: none per step for <c>Generate</c> without stop tokens; one boolean per step with stop tokens
/// (to end early once every row has stopped); one read per step for the streams (the tokens, <c>[batch]</c>, or
/// <c>[3, batch]</c> with stop tokens); one read of all tokens at the end for <c>Generate</c>.
/// Thread safety: any number of generations may run on one model at once, from any threads; each gives exactly what it
/// gives alone (sampling included when <see cref="GenerationOptions.Seed"/> is set). A generation holds the model's
/// weights for reading and its cache for itself from its first step to its end (a stream: until its enumerator is
/// disposed): a weight update meanwhile (<see cref="Trainer.Step"/>) and another call with the same cache throw
/// <see cref="InvalidOperationException"/>, as does starting a generation while a weight update runs.
/// </summary>
public static class GenerationExtensions
{
    /// <summary>Generates a continuation of one <paramref name="prompt"/> (token ids in <c>[0, VocabSize)</c>, at least one).</summary>
    /// <inheritdoc cref="Generate(DiffTransformerLM, IReadOnlyList{IReadOnlyList{long}}, GenerationOptions?, KvCache?, CancellationToken)"/>
    public static GeneratedSequence Generate(this DiffTransformerLM model, IReadOnlyList<long> prompt,
        GenerationOptions? options = null, KvCache? cache = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return model.Generate(new[] { prompt }, options, cache, cancellationToken)[0];
    }

    /// <summary>
    /// Generates continuations of a batch of <paramref name="prompts"/> in one call (left-padded internally). Returns one
    /// <see cref="GeneratedSequence"/> per prompt, in order. Greedy results equal those of each prompt alone.
    /// </summary>
    /// <param name="model">The language model.</param>
    /// <param name="prompts">One or more prompts of token ids in <c>[0, VocabSize)</c>; lengths may differ.</param>
    /// <param name="options">Sampling and stopping; null means greedy, 64 tokens.</param>
    /// <param name="cache">
    /// A cache to reuse (reset first, grown as needed, left holding the sequence without its last token, never disposed
    /// here); null to use a private one that is disposed before returning.
    /// </param>
    /// <param name="cancellationToken">Checked before every step; cancellation throws <see cref="OperationCanceledException"/>.</param>
    public static IReadOnlyList<GeneratedSequence> Generate(this DiffTransformerLM model, IReadOnlyList<IReadOnlyList<long>> prompts,
        GenerationOptions? options = null, KvCache? cache = null, CancellationToken cancellationToken = default)
    {
        return Run(Request.Of(model, prompts, options, cache), cancellationToken);
    }

    /// <summary>
    /// Generates continuations of <paramref name="tokens"/> <c>[batch, time]</c> (integer ids), optionally left-padded as
    /// described by <paramref name="paddingMask"/> <c>[batch, time]</c> (0 = padding, 1 = real; per row zeros then ones),
    /// as Hugging Face's <c>input_ids</c> and <c>attention_mask</c> (null <paramref name="paddingMask"/>: no row is padded).
    /// The tokens are read to the host once.
    /// </summary>
    /// <inheritdoc cref="Generate(DiffTransformerLM, IReadOnlyList{IReadOnlyList{long}}, GenerationOptions?, KvCache?, CancellationToken)"/>
    public static IReadOnlyList<GeneratedSequence> Generate(this DiffTransformerLM model, Tensor tokens, Tensor? paddingMask,
        GenerationOptions? options = null, KvCache? cache = null, CancellationToken cancellationToken = default)
    {
        options = CheckedOptions(model, options, cache);
        var batch = PromptBatch.From(tokens, paddingMask, model.Config, options);
        return Run(new Request(model, batch, options, cache), cancellationToken);
    }

    /// <summary>
    /// Streams the continuation of one prompt token by token, as each is chosen. The arguments are checked when this is
    /// called; the model runs while the stream is enumerated, and stopping the enumeration early releases everything.
    /// </summary>
    /// <inheritdoc cref="Generate(DiffTransformerLM, IReadOnlyList{IReadOnlyList{long}}, GenerationOptions?, KvCache?, CancellationToken)"/>
    public static IEnumerable<GeneratedToken> GenerateStream(this DiffTransformerLM model, IReadOnlyList<long> prompt,
        GenerationOptions? options = null, KvCache? cache = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return model.GenerateStream(new[] { prompt }, options, cache, cancellationToken);
    }

    /// <summary>
    /// Streams the continuations of a batch of prompts: each step yields one token for every row still generating (in
    /// row order); a row's last token carries its <see cref="GeneratedToken.FinishReason"/>.
    /// </summary>
    /// <inheritdoc cref="Generate(DiffTransformerLM, IReadOnlyList{IReadOnlyList{long}}, GenerationOptions?, KvCache?, CancellationToken)"/>
    public static IEnumerable<GeneratedToken> GenerateStream(this DiffTransformerLM model, IReadOnlyList<IReadOnlyList<long>> prompts,
        GenerationOptions? options = null, KvCache? cache = null, CancellationToken cancellationToken = default)
    {
        return Steps(Request.Of(model, prompts, options, cache), cancellationToken).SelectMany(step => step);
    }

    /// <summary>
    /// As <see cref="GenerateStream(DiffTransformerLM, IReadOnlyList{long}, GenerationOptions?, KvCache?, CancellationToken)"/>,
    /// with every model step run on the thread pool so that the awaiting thread stays free; the cancellation token is also
    /// combined with the enumerator's.
    /// </summary>
    /// <inheritdoc cref="Generate(DiffTransformerLM, IReadOnlyList{IReadOnlyList{long}}, GenerationOptions?, KvCache?, CancellationToken)"/>
    public static IAsyncEnumerable<GeneratedToken> GenerateStreamAsync(this DiffTransformerLM model, IReadOnlyList<long> prompt,
        GenerationOptions? options = null, KvCache? cache = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return model.GenerateStreamAsync(new[] { prompt }, options, cache, cancellationToken);
    }

    /// <summary>The batch form of <see cref="GenerateStreamAsync(DiffTransformerLM, IReadOnlyList{long}, GenerationOptions?, KvCache?, CancellationToken)"/>.</summary>
    /// <inheritdoc cref="Generate(DiffTransformerLM, IReadOnlyList{IReadOnlyList{long}}, GenerationOptions?, KvCache?, CancellationToken)"/>
    public static IAsyncEnumerable<GeneratedToken> GenerateStreamAsync(this DiffTransformerLM model, IReadOnlyList<IReadOnlyList<long>> prompts,
        GenerationOptions? options = null, KvCache? cache = null, CancellationToken cancellationToken = default)
    {
        return StreamAsync(Request.Of(model, prompts, options, cache), cancellationToken);
    }

    static GenerationOptions CheckedOptions(DiffTransformerLM model, GenerationOptions? options, KvCache? cache)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new GenerationOptions();
        if (options.StopTokens is null) options = options with { StopTokens = model.StopTokens };
        options.Validate(model.Config.VocabSize);
        model.CheckCache(cache, nameof(cache));
        return options;
    }

    /// <summary>The checked arguments of one generation call.</summary>
    readonly record struct Request(DiffTransformerLM Model, PromptBatch Batch, GenerationOptions Options, KvCache? Cache)
    {
        /// <summary>Checks the arguments of the overloads that take managed prompts.</summary>
        public static Request Of(DiffTransformerLM model, IReadOnlyList<IReadOnlyList<long>> prompts, GenerationOptions? options, KvCache? cache)
        {
            var checkedOptions = CheckedOptions(model, options, cache);
            return new Request(model, PromptBatch.From(prompts, model.Config, checkedOptions, nameof(prompts)), checkedOptions, cache);
        }

        public DecodingSession Start(bool streams) => new(Model, Batch, Options, Cache, streams);
    }

    static IReadOnlyList<GeneratedSequence> Run(Request request, CancellationToken cancellationToken)
    {
        using var session = request.Start(streams: false);
        while (!session.Done)
        {
            cancellationToken.ThrowIfCancellationRequested();
            session.Advance();
            session.CheckFinished();
        }
        return session.Results();
    }

    /// <summary>
    /// The tokens of each step, computed as the enumeration asks for them: the one loop of both streams. Each enumeration
    /// runs its own session; disposing the enumerator releases it.
    /// </summary>
    static IEnumerable<IReadOnlyList<GeneratedToken>> Steps(Request request, CancellationToken cancellationToken)
    {
        using var session = request.Start(streams: true);
        while (!session.Done)
        {
            cancellationToken.ThrowIfCancellationRequested();
            session.Advance();
            yield return session.ReadStep();
        }
    }

    /// <summary><see cref="Steps"/> with every step (the session's creation included) run on the thread pool.</summary>
    static async IAsyncEnumerable<GeneratedToken> StreamAsync(Request request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var steps = Steps(request, cancellationToken).GetEnumerator();
        while (await Task.Run(() => steps.MoveNext(), cancellationToken).ConfigureAwait(false))
            foreach (var token in steps.Current) yield return token;
    }
}

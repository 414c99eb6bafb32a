using DiffTransformer.Generation;

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// The state of one generation: the KV cache, what each row has produced, and the sampling state, all on the model's
/// device. <see cref="Advance"/> runs the prompt in one call the first time, then feeds one token per row per call.
/// Everything native is released by <see cref="Dispose"/> (a cache passed in by the caller is kept, not disposed).
/// Each call is self-contained (own dispose scope and no-grad guard), so consecutive calls may run on different threads.
/// From its creation to <see cref="Dispose"/> the session holds the model's weights for reading (no weight update can
/// come between its steps) and its cache's in-use flag (no other call can use the cache).
/// </summary>
internal sealed class DecodingSession : IDisposable
{
    readonly DiffTransformerLM model;
    readonly GenerationOptions options;
    readonly KvCache cache;
    readonly bool ownsCache;
    readonly Generator? generator;
    readonly int batch;
    readonly bool streams;         // ReadStep will be called: keep a record of every step
    readonly Tensor? stopTokens;   // int64 [stops]
    readonly Tensor? seen;         // bool [batch, vocab]: tokens the repetition penalty applies to
    readonly Tensor? seenValue;    // bool [batch, 1], all true: what a step scatters into seen
    readonly Tensor finished;      // bool [batch]; stays false without stop tokens
    readonly Tensor generated;     // int64 [batch, MaxNewTokens]
    readonly Tensor counts;        // int64 [batch]: tokens each row has taken (kept only with stop tokens; else Step)
    Tensor? prompt, promptMask;    // until the prefill
    Tensor? last;                  // int64 [batch, 1]: the tokens chosen by the latest step
    Tensor? record;                // streams only: int64 [3, batch] (latest tokens, which rows took them, which rows
                                   // stopped on them), or [1, batch] (the tokens) without stop tokens
    bool allFinished;
    bool readingWeights, holdingCache;

    /// <param name="model">The model.</param>
    /// <param name="prompts">The validated prompts.</param>
    /// <param name="options">The validated options.</param>
    /// <param name="cache">A caller's cache to reuse, or null for a private one.</param>
    /// <param name="streams">True when <see cref="ReadStep"/> will be called after every <see cref="Advance"/>.</param>
    public DecodingSession(DiffTransformerLM model, PromptBatch prompts, GenerationOptions options, KvCache? cache, bool streams)
    {
        this.model = model;
        this.options = options;
        this.streams = streams;
        batch = prompts.Rows.Length;
        long positions = prompts.Time + options.MaxNewTokens - 1; // the last token is chosen but never fed
        model.WeightGuard.EnterRead("Generation");
        readingWeights = true;
        if (cache is null)
        {
            this.cache = model.CreateCache(positions);
            ownsCache = true;
        }
        else
        {
            this.cache = cache;
        }
        try
        {
            this.cache.Use.Enter("Generation");
            holdingCache = true;
            this.cache.ResetCore();
            this.cache.EnsureCapacityCore(positions);
            var device = model.Device;
            using var scope = NewDisposeScope();
            var (tokens, mask) = prompts.ToTensors(device);
            (prompt, promptMask) = (tokens, mask);
            finished = zeros(batch, ScalarType.Bool, device).DetachFromDisposeScope();
            counts = zeros(batch, ScalarType.Int64, device).DetachFromDisposeScope();
            generated = zeros(new long[] { batch, options.MaxNewTokens }, ScalarType.Int64, device).DetachFromDisposeScope();
            if (options.StopTokens is { Count: > 0 } stops) // resolved against the model's when the request was made
                stopTokens = tensor(stops.ToArray()).to(device).DetachFromDisposeScope();
            if (options.RepetitionPenalty != 1)
            {
                var real = mask?.to(ScalarType.Int64) ?? ones_like(tokens);
                seen = zeros(new long[] { batch, model.Config.VocabSize }, ScalarType.Int64, device).scatter_add_(1, tokens, real)
                    .Greater(0).DetachFromDisposeScope();
                seenValue = ones(new long[] { batch, 1 }, ScalarType.Bool, device).DetachFromDisposeScope();
            }
            if (options.Samples && options.Seed is { } seed)
                generator = new Generator(unchecked((ulong)seed), device);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Tokens chosen per row so far (finished rows included).</summary>
    public int Step { get; private set; }

    /// <summary>True once every row has finished or <see cref="GenerationOptions.MaxNewTokens"/> steps were taken.</summary>
    public bool Done => allFinished || Step >= options.MaxNewTokens;

    /// <summary>Runs the model once (the whole prompt on the first call, then the latest tokens) and chooses the next token of every row.</summary>
    public void Advance()
    {
        if (Done) throw new InvalidOperationException("The generation has finished.");
        int step = Step;
        Action<int, AttentionMaps>? maps = options.AttentionMapsCaptured is { } callback
            ? (layer, m) => callback(step, layer, m)
            : null;
        using (no_grad())
        using (NewDisposeScope())
        {
            var logits = step == 0
                ? model.Run(prompt!, cache, promptMask, lastPositionOnly: true, maps)
                : model.Run(last!, cache, null, lastPositionOnly: true, maps);
            var scores = logits.select(1, 0);
            if (DTypes.IsHalf(scores.dtype)) scores = scores.to(ScalarType.Float32);
            if (stopTokens is not null && step < options.MinNewTokens)
                scores = scores.IndexFilled(1, stopTokens, double.NegativeInfinity);
            scores = LogitsProcessing.ProcessUnchecked(scores, options, seen); // the options were validated with the request
            var next = LogitsProcessing.Choose(scores, options.Samples, generator);

            generated.select(1, step).copy_(next);
            seen?.scatter_(1, next.unsqueeze(1), seenValue!);
            Replace(ref last, next.unsqueeze(1));
            if (stopTokens is null)
            {
                // Every row takes every step and none stops: nothing to count.
                if (streams) Replace(ref record, next.unsqueeze(0));
            }
            else
            {
                var active = finished.logical_not();
                counts.PlusInPlace(active.to(ScalarType.Int64));
                var stopped = next.isin(stopTokens).logical_and_(active);
                finished.logical_or_(stopped);
                if (streams) Replace(ref record, stack(new[] { next, active.to(ScalarType.Int64), stopped.to(ScalarType.Int64) }));
            }
        }
        if (step == 0) DisposePrompt();
        Step++;
    }

    /// <summary>
    /// Checks whether every row has finished: one scalar device-to-host copy, made only when stop tokens exist
    /// (without them every row runs to <see cref="GenerationOptions.MaxNewTokens"/>).
    /// </summary>
    public void CheckFinished()
    {
        if (stopTokens is null || allFinished) return;
        using (NewDisposeScope()) allFinished = finished.all().item<bool>();
    }

    /// <summary>The tokens of the latest step, one per row still generating (one device-to-host copy).</summary>
    public IReadOnlyList<GeneratedToken> ReadStep()
    {
        if (!streams) throw new InvalidOperationException("This session was created without streams: true.");
        if (record is null) throw new InvalidOperationException("No step has been taken.");
        long[] values;
        using (NewDisposeScope()) values = record.cpu().data<long>().ToArray();
        bool stops = stopTokens is not null; // else values holds the tokens only
        var tokens = new List<GeneratedToken>(batch);
        bool anyGoesOn = false;
        for (int row = 0; row < batch; row++)
        {
            if (stops && values[batch + row] == 0) continue; // finished earlier
            bool stopped = stops && values[2 * batch + row] != 0;
            FinishReason? reason = stopped ? FinishReason.StopToken : Step >= options.MaxNewTokens ? FinishReason.Length : null;
            anyGoesOn |= reason is null;
            tokens.Add(new GeneratedToken(row, Step - 1, values[row], reason)); // rows take one token per step until they finish
        }
        if (!anyGoesOn) allFinished = true;
        return tokens;
    }

    /// <summary>
    /// Every row's tokens and finish reason (one device-to-host copy: the generated tokens, with each row's count and
    /// stop flag appended when there are stop tokens).
    /// </summary>
    public IReadOnlyList<GeneratedSequence> Results()
    {
        int width = options.MaxNewTokens;
        bool stops = stopTokens is not null;
        long[] values;
        using (NewDisposeScope())
        {
            var table = stops
                ? cat(new[] { generated, counts.unsqueeze(1), finished.to(ScalarType.Int64).unsqueeze(1) }, 1) // [batch, width + 2]
                : generated;
            values = table.cpu().data<long>().ToArray();
        }
        int stride = stops ? width + 2 : width;
        var results = new GeneratedSequence[batch];
        for (int row = 0; row < batch; row++)
        {
            int taken = stops ? (int)values[row * stride + width] : Step; // without stop tokens every row takes every step
            bool stopped = stops && values[row * stride + width + 1] != 0;
            var tokens = values.AsSpan(row * stride, taken).ToArray();
            results[row] = new GeneratedSequence(tokens, stopped ? FinishReason.StopToken : FinishReason.Length);
        }
        return results;
    }

    static void Replace(ref Tensor? field, Tensor value)
    {
        field?.Dispose();
        field = value.DetachFromDisposeScope();
    }

    void DisposePrompt()
    {
        prompt?.Dispose();
        promptMask?.Dispose();
        prompt = promptMask = null;
    }

    public void Dispose()
    {
        DisposePrompt();
        last?.Dispose();
        record?.Dispose();
        stopTokens?.Dispose();
        seen?.Dispose();
        seenValue?.Dispose();
        finished?.Dispose();
        generated?.Dispose();
        counts?.Dispose();
        generator?.Dispose();
        last = record = null;
        if (holdingCache) cache.Use.Exit();
        holdingCache = false;
        if (ownsCache) cache.DisposeCore(); // a private cache no other call can reach
        if (readingWeights) model.WeightGuard.ExitRead();
        readingWeights = false;
    }
}

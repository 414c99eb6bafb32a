using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>Validated prompts of one generation call, kept as managed arrays until decoding starts.</summary>
internal sealed class PromptBatch
{
    private PromptBatch(long[][] rows)
    {
        Rows = rows;
        Time = rows.Max(r => r.Length);
    }

    /// <summary>The prompts, unpadded.</summary>
    public long[][] Rows { get; }

    /// <summary>Length of the longest prompt: the padded width.</summary>
    public int Time { get; }

    /// <summary>True when the prompts differ in length, so that the batch needs left padding.</summary>
    public bool Padded => Rows.Any(r => r.Length != Time);

    /// <summary>Checks managed prompts against the model and the options (ArgumentException naming the prompt and the rule).</summary>
    public static PromptBatch From(IReadOnlyList<IReadOnlyList<long>> prompts, DiffTransformerConfig config, GenerationOptions options, string name)
    {
        ArgumentNullException.ThrowIfNull(prompts, name);
        if (prompts.Count == 0)
            throw new ArgumentException($"{name} must hold at least one prompt; got an empty list.", name);
        var rows = new long[prompts.Count][];
        for (int i = 0; i < prompts.Count; i++)
        {
            var prompt = prompts[i];
            if (prompt is null || prompt.Count == 0)
                throw new ArgumentException($"{name}[{i}] must hold at least one token; got {(prompt is null ? "null" : "an empty prompt")}.", name);
            if (prompt.Count > config.MaxSequenceLength)
                throw new ArgumentException(
                    $"{name}[{i}] has {prompt.Count} tokens, more than MaxSequenceLength ({config.MaxSequenceLength}).", name);
            rows[i] = prompt.ToArray();
            for (int t = 0; t < rows[i].Length; t++)
            {
                if (rows[i][t] < 0 || rows[i][t] >= config.VocabSize)
                    throw new ArgumentException(
                        $"{name}[{i}][{t}] must lie in [0, {config.VocabSize}) (VocabSize); got {rows[i][t]}.", name);
            }
        }
        var batch = new PromptBatch(rows);
        if (batch.Time + (long)options.MaxNewTokens > config.MaxSequenceLength)
            throw new ArgumentException(
                $"The longest prompt ({batch.Time} tokens) plus MaxNewTokens ({options.MaxNewTokens}) must not exceed MaxSequenceLength " +
                $"({config.MaxSequenceLength}); got {batch.Time + (long)options.MaxNewTokens}.", nameof(options));
        return batch;
    }

    /// <summary>
    /// Checks a token tensor <c>[batch, time]</c> with an optional left-padding mask <c>[batch, time]</c> (1 = real token)
    /// and reads the real tokens of each row (one device-to-host copy).
    /// </summary>
    public static PromptBatch From(Tensor tokens, Tensor? paddingMask, DiffTransformerConfig config, GenerationOptions options)
    {
        Guard.TokenIds(tokens, nameof(tokens)); // the rule of DiffTransformerLM.forward
        if (paddingMask is not null && !paddingMask.shape.SequenceEqual(tokens.shape))
            throw new ArgumentException($"paddingMask must have the shape of tokens {Guard.Shape(tokens)}; got {Guard.Shape(paddingMask)}.", nameof(paddingMask));
        using var scope = NewDisposeScope();
        long batch = tokens.shape[0], time = tokens.shape[1];
        var ids = tokens.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var mask = paddingMask?.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var prompts = new long[batch][];
        for (int b = 0; b < batch; b++)
        {
            int first = 0;
            if (mask is not null)
            {
                var row = mask.AsSpan((int)(b * time), (int)time);
                while (first < time && row[first] == 0) first++;
                for (int t = first; t < time; t++)
                {
                    if (row[t] != 1)
                        throw new ArgumentException(
                            $"paddingMask must be left padding: per row zeros, then ones (at least one); row {b} has {row[t]} at position {t} after its first real token at {first}.",
                            nameof(paddingMask));
                }
                if (first == time)
                    throw new ArgumentException($"paddingMask row {b} has no real token (all zeros): every prompt needs at least one.", nameof(paddingMask));
            }
            for (int t = first; t < time; t++)
            {
                long id = ids[b * time + t];
                if (id < 0 || id >= config.VocabSize)
                    throw new ArgumentException($"tokens[{b}][{t}] must lie in [0, {config.VocabSize}) (VocabSize); got {id}.", nameof(tokens));
            }
            prompts[b] = ids.AsSpan((int)(b * time + first), (int)(time - first)).ToArray();
        }
        return From(prompts, config, options, nameof(tokens));
    }

    /// <summary>The prompts left-padded with token 0 as int64 <c>[batch, Time]</c>, and the padding mask (null if unpadded), on <paramref name="device"/>.</summary>
    public (Tensor Tokens, Tensor? Mask) ToTensors(Device device)
    {
        int batch = Rows.Length;
        var ids = new long[batch * Time];
        var real = new bool[batch * Time];
        for (int b = 0; b < batch; b++)
        {
            int pad = Time - Rows[b].Length;
            Rows[b].CopyTo(ids, b * Time + pad);
            Array.Fill(real, true, b * Time + pad, Rows[b].Length);
        }
        using var scope = NewDisposeScope();
        var tokens = tensor(ids, new long[] { batch, Time }).to(device);
        var mask = Padded ? tensor(real, new long[] { batch, Time }).to(device) : null;
        return (tokens.DetachFromDisposeScope(), mask?.DetachFromDisposeScope());
    }
}

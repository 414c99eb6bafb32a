using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DiffTransformer;

/// <summary>
/// A decoder-only language model: token embedding, <see cref="DiffTransformerConfig.NumLayers"/> pre-norm blocks
/// (block <c>i</c> with <c>depth = i</c>), a final RMSNorm and an output head (optionally tied to the embedding).
/// <c>tokens [batch, time] (int64) -&gt; logits [batch, time, vocab]</c>.
/// Keys: <c>embed_tokens.weight</c>, <c>layers.{i}.attn_norm.weight</c>, <c>layers.{i}.attn.q_proj.weight</c> (and the
/// attention kind's other official keys), <c>layers.{i}.ffn_norm.weight</c>, <c>layers.{i}.ffn.gate_proj.weight</c>,
/// <c>layers.{i}.ffn.up_proj.weight</c>, <c>layers.{i}.ffn.down_proj.weight</c>, <c>norm.weight</c>, and
/// <c>lm_head.weight</c> unless the head is tied.
/// </summary>
public sealed class DiffTransformerLM : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DiffTransformerBlock> layers;
    private readonly RmsNorm norm;
    private readonly Linear? lm_head;
#pragma warning restore IDE1006

    /// <summary>Builds the model described by <paramref name="config"/> (validated first), on the CPU in float32.</summary>
    public DiffTransformerLM(DiffTransformerConfig config) : base(nameof(DiffTransformerLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.EmbedDim);
        using (no_grad())
        using (var weight = embed_tokens.weight!) // TorchSharp hands out a new wrapper on every access
            weight.normal_(0, 0.02);
        layers = new ModuleList<DiffTransformerBlock>();
        for (int depth = 0; depth < config.NumLayers; depth++)
            layers.Add(new DiffTransformerBlock(config.CreateAttention(depth), config.ResolvedFfnHiddenDim, config.NormEps));
        norm = new RmsNorm(config.EmbedDim, config.NormEps);
        lm_head = config.TieEmbeddings ? null : nn.Linear(config.EmbedDim, config.VocabSize, hasBias: false);
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <summary>The configuration the model was built from.</summary>
    public DiffTransformerConfig Config { get; }

    /// <summary>The decoder blocks, in order.</summary>
    public IReadOnlyList<DiffTransformerBlock> Blocks => layers.ToList();

    /// <summary>Next-token logits <c>[batch, time, vocab]</c> for <c>tokens [batch, time]</c> at positions <c>0..time-1</c>.</summary>
    public override Tensor forward(Tensor tokens) => Forward(tokens);

    /// <summary>
    /// Logits <c>[batch, time, vocab]</c> for <paramref name="tokens"/> <c>[batch, time]</c>. With a
    /// <paramref name="cache"/>, the tokens continue the cached sequence (rotary positions go on from the cache) and
    /// their keys and values are appended. <paramref name="paddingMask"/> (<c>[batch, time]</c>, 1/true for real tokens,
    /// 0/false for left padding) keeps padding out of attention and numbers each row's positions from its first real
    /// token, so a padded row computes what it would alone.
    /// </summary>
    public Tensor Forward(Tensor tokens, KvCache? cache = null, Tensor? paddingMask = null)
    {
        CheckTokens(tokens, cache?.Length ?? 0, nameof(tokens));
        CheckCache(cache, nameof(cache));
        long batch = tokens.shape[0], time = tokens.shape[1];
        if (paddingMask is not null && (paddingMask.dim() != 2 || paddingMask.shape[0] != batch || paddingMask.shape[1] != time))
            throw new ArgumentException($"paddingMask must have the shape of tokens [{batch}, {time}]; got {Guard.Shape(paddingMask)}.", nameof(paddingMask));
        if (cache?.Batch is { } cachedBatch && cachedBatch != batch)
            throw new ArgumentException($"tokens has batch {batch} but the cache holds batch {cachedBatch}; call Reset() or use a new cache.", nameof(tokens));
        return Run(tokens, cache, paddingMask, lastPositionOnly: false, mapsCaptured: null);
    }

    /// <summary>Throws an ArgumentException naming <paramref name="name"/> unless <paramref name="cache"/> is null or has one layer per block.</summary>
    internal void CheckCache(KvCache? cache, string name)
    {
        if (cache is not null && cache.Layers.Count != layers.Count)
            throw new ArgumentException($"{name} must have {layers.Count} layers (one per block); got {cache.Layers.Count}.", name);
    }

    /// <summary>The device of the model's weights.</summary>
    internal Device Device
    {
        get
        {
            using var weight = embed_tokens.weight!; // TorchSharp hands out a new wrapper on every access
            return weight.device;
        }
    }

    /// <summary>
    /// <see cref="Forward"/> without its checks, for callers that validated the tokens once (generation feeds back its
    /// own tokens: checking their range every step would cost a device-to-host copy per step). With
    /// <paramref name="lastPositionOnly"/> the head runs on the last position only: logits <c>[batch, 1, vocab]</c>.
    /// <paramref name="mapsCaptured"/> receives (layer, maps) and switches the call to the naive kernel.
    /// </summary>
    internal Tensor Run(Tensor tokens, KvCache? cache, Tensor? paddingMask, bool lastPositionOnly,
        Action<int, AttentionMaps>? mapsCaptured)
    {
        using var scope = NewDisposeScope();
        long batch = tokens.shape[0], time = tokens.shape[1];
        var device = Device;
        long past = cache?.Length ?? 0;
        Tensor? keyMask = cache is not null
            ? cache.ExtendKeyMask(paddingMask?.to(device), batch, time, device)
            : paddingMask?.to(ScalarType.Bool).to(device);
        Tensor? positions = keyMask is null
            ? null
            : keyMask.to(ScalarType.Int64).cumsum(1).Minus(1).AtLeast(0).narrow(1, past, time);

        // The embedding takes int64 or int32 indices; the narrower integer ids that Forward accepts are widened.
        var ids = tokens.dtype is ScalarType.Int64 or ScalarType.Int32 ? tokens : tokens.to(ScalarType.Int64);
        var hidden = embed_tokens.call(ids.to(device));
        // Every layer has the same head size, theta and positions: one set of rotary tables (and one mask) per call.
        var attention = layers[0].Attention;
        var shared = new SharedAttentionInputs(positions ?? ScalarMath.Range(past, past + time, 1, ScalarType.Int64, device),
            keyMask, past, attention.HeadDim, attention.RopeTheta, hidden.dtype);
        for (int i = 0; i < layers.Count; i++)
        {
            int layer = i;
            var context = new AttentionContext
            {
                Cache = cache?.Layers[i], Positions = positions, KeyMask = keyMask, Shared = shared,
                MapsCaptured = mapsCaptured is null ? null : maps => mapsCaptured(layer, maps),
            };
            hidden = layers[i].Forward(hidden, context);
        }
        if (lastPositionOnly) hidden = hidden.narrow(1, time - 1, 1);
        return Head(norm.call(hidden)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean next-token cross-entropy of <paramref name="tokens"/> against <paramref name="targets"/> (both
    /// <c>[batch, time]</c>), with the checks of <see cref="Forward"/> and <see cref="CrossEntropy"/>. The token range
    /// and the target range are read back together: one device-to-host copy per call.
    /// </summary>
    public Tensor Loss(Tensor tokens, Tensor targets, long ignoreIndex = -100)
    {
        CheckTokenShape(tokens, 0, nameof(tokens));
        ArgumentNullException.ThrowIfNull(targets);
        long vocab = Config.VocabSize;
        CheckTargetShape(new[] { tokens.shape[0], tokens.shape[1], vocab }, targets);
        using var scope = NewDisposeScope();
        var device = Device;
        var flatTargets = targets.reshape(-1).to(ScalarType.Int64).to(device);
        var outOfRange = TargetsOutOfRange(flatTargets, vocab, ignoreIndex);
        var onDevice = tokens.to(device);
        var read = stack(new[] { onDevice.min().to(ScalarType.Int64), onDevice.max().to(ScalarType.Int64), outOfRange.any().to(ScalarType.Int64) })
            .cpu().data<long>().ToArray();
        CheckTokenRange(read[0], read[1], nameof(tokens));
        if (read[2] != 0) ThrowTargetsOutOfRange(flatTargets, outOfRange, vocab, ignoreIndex);
        var logits = Run(onDevice, cache: null, paddingMask: null, lastPositionOnly: false, mapsCaptured: null);
        return ScoredCrossEntropy(logits, flatTargets, ignoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> <c>[batch, time, vocab]</c> against <paramref name="targets"/>
    /// <c>[batch, time]</c>, skipping targets equal to <paramref name="ignoreIndex"/>; computed in at least float32.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex = -100)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        CheckTargetShape(logits.shape, targets);
        long vocab = logits.shape[2];
        using var scope = NewDisposeScope();
        var flatTargets = targets.reshape(-1).to(ScalarType.Int64);
        var outOfRange = TargetsOutOfRange(flatTargets, vocab, ignoreIndex);
        if (outOfRange.any().item<bool>()) ThrowTargetsOutOfRange(flatTargets, outOfRange, vocab, ignoreIndex);
        return ScoredCrossEntropy(logits, flatTargets, ignoreIndex).MoveToOuterDisposeScope();
    }

    private static void CheckTargetShape(long[] logitsShape, Tensor targets)
    {
        if (logitsShape.Length != 3 || targets.dim() != 2 || logitsShape[0] != targets.shape[0] || logitsShape[1] != targets.shape[1])
            throw new ArgumentException(
                $"targets must be [batch, time] matching logits [batch, time, vocab]; got logits {Guard.Shape(logitsShape)}, targets {Guard.Shape(targets)}.",
                nameof(targets));
    }

    private static Tensor TargetsOutOfRange(Tensor flatTargets, long vocab, long ignoreIndex) =>
        flatTargets.NotEqual(ignoreIndex) & (flatTargets.Less(0) | flatTargets.AtLeastMask(vocab));

    private static void ThrowTargetsOutOfRange(Tensor flatTargets, Tensor outOfRange, long vocab, long ignoreIndex) =>
        throw new ArgumentException(
            $"targets must lie in [0, {vocab}) or equal ignoreIndex {ignoreIndex}; found {flatTargets.masked_select(outOfRange)[0].item<long>()}.",
            "targets");

    /// <summary>The loss over checked <c>[batch * time]</c> int64 targets.</summary>
    private static Tensor ScoredCrossEntropy(Tensor logits, Tensor flatTargets, long ignoreIndex)
    {
        var flatLogits = logits.reshape(-1, logits.shape[2]);
        if (ScaledDotProduct.IsHalf(flatLogits.dtype)) flatLogits = flatLogits.to(ScalarType.Float32);
        return F.cross_entropy(flatLogits, flatTargets, ignore_index: ignoreIndex);
    }

    /// <summary>
    /// Runs <paramref name="tokens"/> <c>[batch, time]</c> without gradients and returns every layer's attention maps, in
    /// layer order. The caller owns (and should dispose) the maps.
    /// </summary>
    public IReadOnlyList<AttentionMaps> ComputeAttentionMaps(Tensor tokens)
    {
        var maps = new List<AttentionMaps>();
        using (no_grad())
            LastLogits(tokens, (_, m) => maps.Add(m)).Dispose();
        return maps;
    }

    /// <summary>
    /// <see cref="Forward"/>'s checks, then one pass without a cache whose head runs on the last position only: logits
    /// <c>[batch, 1, vocab]</c>. <paramref name="mapsCaptured"/> as for <see cref="Run"/> (it switches to the naive kernel).
    /// </summary>
    internal Tensor LastLogits(Tensor tokens, Action<int, AttentionMaps>? mapsCaptured)
    {
        CheckTokens(tokens, 0, nameof(tokens));
        return Run(tokens, cache: null, paddingMask: null, lastPositionOnly: true, mapsCaptured);
    }

    /// <summary>Creates an empty KV cache for this model with room for <paramref name="initialCapacity"/> positions.</summary>
    public KvCache CreateCache(long initialCapacity = 256) => new(layers.Count, initialCapacity);

    private Tensor Head(Tensor hidden) =>
        lm_head is null ? F.linear(hidden, embed_tokens.weight!) : lm_head.call(hidden);

    private void CheckTokens(Tensor tokens, long past, string name)
    {
        CheckTokenShape(tokens, past, name);
        using var scope = NewDisposeScope();
        var range = stack(new[] { tokens.min(), tokens.max() }).to(ScalarType.Int64).cpu();
        CheckTokenRange(range[0].item<long>(), range[1].item<long>(), name);
    }

    /// <summary>The checks of <see cref="CheckTokens"/> that need no values from the device.</summary>
    private void CheckTokenShape(Tensor tokens, long past, string name)
    {
        Guard.TokenIds(tokens, name);
        if (past + tokens.shape[1] > Config.MaxSequenceLength)
            throw new ArgumentException(
                $"{name} would make the sequence {past + tokens.shape[1]} tokens long (cached {past} + new {tokens.shape[1]}); MaxSequenceLength is {Config.MaxSequenceLength}.",
                name);
    }

    private void CheckTokenRange(long min, long max, string name)
    {
        if (min < 0 || max >= Config.VocabSize)
            throw new ArgumentException(
                $"{name} must lie in [0, {Config.VocabSize}) (VocabSize); got values from {min} to {max}.", name);
    }
}

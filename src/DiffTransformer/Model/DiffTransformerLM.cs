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
/// Thread safety: inference may run on one model from any number of threads at once (<c>forward</c>, <see cref="Loss"/>,
/// <see cref="ComputeAttentionMaps"/>, the <see cref="GenerationExtensions"/> methods); each call gives exactly the
/// result it gives alone. Weight updates (<see cref="Trainer.Step"/>, <see cref="Trainer.LoadCheckpoint"/>,
/// <see cref="Checkpoints.ModuleWeights.Load(nn.Module, string, bool, bool)"/> and <see cref="ModelCheckpoint.LoadWeights"/> into
/// this model) never overlap inference: an update that meets a running call, and a call that meets a running update,
/// throw <see cref="InvalidOperationException"/> naming the conflict; a generation or stream counts as running from its
/// first step until it ends or its enumerator is disposed. Changes made directly through TorchSharp (<c>to</c>,
/// <c>load_state_dict</c>, an optimizer of your own, <c>Dispose</c>) are not guarded: make them while no call runs.
/// Gradient mode and dispose scopes are per thread: <c>using (torch.no_grad())</c> covers only the thread that entered it.
/// See <c>docs/generation.md</c>, "Thread safety".
/// </summary>
public sealed class DiffTransformerLM : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DiffTransformerBlock> layers;
    private readonly RmsNorm norm;
    private readonly Projection? lm_head;
#pragma warning restore IDE1006
    private readonly DiffTransformerBlock[] blocks;
    private readonly IReadOnlyList<DiffTransformerBlock> blocksView;
    private readonly TokenRules tokenRules;
    private readonly WeightGuard weightGuard = new();

    /// <summary>Builds the model described by <paramref name="config"/> (validated first), on the CPU in float32.</summary>
    public DiffTransformerLM(DiffTransformerConfig config) : base(nameof(DiffTransformerLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        tokenRules = new TokenRules(config.VocabSize, config.MaxSequenceLength);
        embed_tokens = nn.Embedding(config.VocabSize, config.EmbedDim);
        using (no_grad())
        using (var weight = embed_tokens.weight!) // TorchSharp hands out a new wrapper on every access
            weight.normal_(0, 0.02);
        layers = new ModuleList<DiffTransformerBlock>();
        for (int depth = 0; depth < config.NumLayers; depth++)
            layers.Add(new DiffTransformerBlock(config.CreateAttention(depth), config.ResolvedFfnHiddenDim, config.NormEps, config.FfnBias));
        norm = new RmsNorm(config.EmbedDim, config.NormEps);
        lm_head = config.TieEmbeddings ? null : new Projection(config.EmbedDim, config.VocabSize, hasBias: false);
        blocks = layers.ToArray();
        blocksView = Array.AsReadOnly(blocks);
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <summary>The configuration the model was built from.</summary>
    public DiffTransformerConfig Config { get; }

    /// <summary>
    /// The tokens that end a generated sequence when <see cref="GenerationOptions.StopTokens"/> is not given (Hugging Face
    /// <c>eos_token_id</c>): empty for a model built here, the checkpoint's end-of-sequence ids for one loaded by
    /// <see cref="HuggingFaceCheckpoint.Load"/>. Each id must lie in <c>[0, VocabSize)</c>. May be set while generations
    /// run: the list is copied and swapped in whole, and each generation reads it once, when it is called.
    /// </summary>
    public IReadOnlyList<long> StopTokens
    {
        get => stopTokens;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            for (int i = 0; i < value.Count; i++)
                Guard.Index(value[i], $"{nameof(StopTokens)}[{i}]", Config.VocabSize, nameof(DiffTransformerConfig.VocabSize), nameof(StopTokens));
            stopTokens = value.ToArray();
        }
    }
    private volatile IReadOnlyList<long> stopTokens = Array.Empty<long>();

    /// <summary>The decoder blocks, in order.</summary>
    public IReadOnlyList<DiffTransformerBlock> Blocks => blocksView;

    /// <summary>Next-token logits <c>[batch, time, vocab]</c> for <c>tokens [batch, time]</c> at positions <c>0..time-1</c>.</summary>
    public override Tensor forward(Tensor tokens) => forward(tokens, null, null);

    /// <summary>
    /// Logits <c>[batch, time, vocab]</c> for <paramref name="tokens"/> <c>[batch, time]</c>. With a
    /// <paramref name="cache"/>, the tokens continue the cached sequence (rotary positions go on from the cache) and
    /// their keys and values are appended. <paramref name="paddingMask"/> (<c>[batch, time]</c>, 1/true for real tokens,
    /// 0/false for left padding) keeps padding out of attention and numbers each row's positions from its first real
    /// token, so a padded row computes what it would alone. The cache serves this call only while it runs: another call
    /// that uses it meanwhile, on any thread, throws <see cref="InvalidOperationException"/> (see <see cref="KvCache"/>).
    /// </summary>
    public Tensor forward(Tensor tokens, KvCache? cache, Tensor? paddingMask = null)
    {
        CheckCache(cache, nameof(cache));
        if (cache is null) return Checked(tokens, null, paddingMask);
        cache.Use.Enter($"{nameof(DiffTransformerLM)}.{nameof(forward)}");
        try
        {
            return Checked(tokens, cache, paddingMask);
        }
        finally
        {
            cache.Use.Exit();
        }
    }

    /// <summary>The checks and the call of <see cref="forward(Tensor, KvCache, Tensor)"/>, with the cache (if any) held.</summary>
    private Tensor Checked(Tensor tokens, KvCache? cache, Tensor? paddingMask)
    {
        tokenRules.Check(tokens, cache?.Length ?? 0, nameof(tokens));
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
        if (cache is not null && cache.Layers.Count != blocks.Length)
            throw new ArgumentException($"{name} must have {blocks.Length} layers (one per block); got {cache.Layers.Count}.", name);
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
    /// <see cref="forward(Tensor, KvCache, Tensor)"/> without its checks, for callers that validated the tokens once (generation feeds back its
    /// own tokens: checking their range every step would cost a device-to-host copy per step). With
    /// <paramref name="lastPositionOnly"/> the head runs on the last position only: logits <c>[batch, 1, vocab]</c>.
    /// <paramref name="mapsCaptured"/> receives (layer, maps) and switches the call to the naive kernel.
    /// The call reads the weights inside a section of <see cref="WeightGuard"/>; the caller holds the cache's in-use flag.
    /// </summary>
    internal Tensor Run(Tensor tokens, KvCache? cache, Tensor? paddingMask, bool lastPositionOnly,
        Action<int, AttentionMaps>? mapsCaptured)
    {
        weightGuard.EnterRead("Inference (a forward, loss or generation step)");
        try
        {
            cache?.CheckFilledBy(weightGuard);
            return RunReading(tokens, cache, paddingMask, lastPositionOnly, mapsCaptured);
        }
        finally
        {
            weightGuard.ExitRead();
        }
    }

    /// <summary>Keeps weight updates from overlapping the calls that read the weights (see the class remarks).</summary>
    internal WeightGuard WeightGuard => weightGuard;

    private Tensor RunReading(Tensor tokens, KvCache? cache, Tensor? paddingMask, bool lastPositionOnly,
        Action<int, AttentionMaps>? mapsCaptured)
    {
        using var scope = NewDisposeScope();
        long batch = tokens.shape[0], time = tokens.shape[1];
        var device = Device;
        long past = cache?.Length ?? 0;
        // Each row's positions count its real tokens, so that left padding does not shift them.
        var (keyMask, positions) = cache is not null
            ? cache.Extend(paddingMask?.to(device), batch, time, device)
            : PaddedPositions(paddingMask?.to(ScalarType.Bool).to(device));

        // The embedding takes int64 or int32 indices; the narrower integer ids that forward accepts are widened.
        var ids = tokens.dtype is ScalarType.Int64 or ScalarType.Int32 ? tokens : tokens.to(ScalarType.Int64);
        var hidden = embed_tokens.call(ids.to(device));
        // Every layer has the same rotary embedding and mask: prepared once for the whole call.
        var inputs = new AttentionInputs(hidden, past, positions, keyMask, blocks[0].Attention.Rotary);
        for (int i = 0; i < blocks.Length; i++)
        {
            int layer = i;
            var mapSink = mapsCaptured is null ? null : (Action<AttentionMaps>)(maps => mapsCaptured(layer, maps));
            hidden = blocks[i].Run(hidden, inputs, cache?.Layers[i], mapSink);
        }
        if (lastPositionOnly) hidden = hidden.narrow(1, time - 1, 1);
        return Head(norm.call(hidden)).MoveToOuterDisposeScope();
    }

    /// <summary>The key mask and rotary positions of an uncached call: each row's positions count its real tokens.</summary>
    private static (Tensor? KeyMask, Tensor? Positions) PaddedPositions(Tensor? keyMask) =>
        (keyMask, keyMask?.to(ScalarType.Int64).cumsum(1).Minus(1).AtLeast(0));

    /// <summary>
    /// Mean next-token cross-entropy of <paramref name="tokens"/> against <paramref name="targets"/> (both
    /// <c>[batch, time]</c>), with the checks of <see cref="forward(Tensor, KvCache, Tensor)"/> and <see cref="CrossEntropy"/>.
    /// The token range and the target range are read back together: one device-to-host copy per call.
    /// </summary>
    public Tensor Loss(Tensor tokens, Tensor targets, long ignoreIndex = -100)
    {
        tokenRules.CheckShape(tokens, 0, nameof(tokens));
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        var onDevice = tokens.to(Device);
        var checkedTargets = LossTargets.Check(targets, onDevice, Config.VocabSize, ignoreIndex, tokenRules);
        var logits = Run(onDevice, cache: null, paddingMask: null, lastPositionOnly: false, mapsCaptured: null);
        return LossTargets.CrossEntropy(logits, checkedTargets, ignoreIndex).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> <c>[batch, time, vocab]</c> against <paramref name="targets"/>
    /// <c>[batch, time]</c>, skipping targets equal to <paramref name="ignoreIndex"/>; computed in at least float32.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targets, long ignoreIndex = -100)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        using var scope = NewDisposeScope();
        var checkedTargets = LossTargets.Check(targets, logits, ignoreIndex);
        return LossTargets.CrossEntropy(logits, checkedTargets, ignoreIndex).MoveToOuterDisposeScope();
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
    /// <see cref="forward(Tensor, KvCache, Tensor)"/>'s checks, then one pass without a cache whose head runs on the last position only: logits
    /// <c>[batch, 1, vocab]</c>. <paramref name="mapsCaptured"/> as for <see cref="Run"/> (it switches to the naive kernel).
    /// </summary>
    internal Tensor LastLogits(Tensor tokens, Action<int, AttentionMaps>? mapsCaptured)
    {
        tokenRules.Check(tokens, 0, nameof(tokens));
        return Run(tokens, cache: null, paddingMask: null, lastPositionOnly: true, mapsCaptured);
    }

    /// <summary>Creates an empty KV cache for this model with room for <paramref name="initialCapacity"/> positions.</summary>
    public KvCache CreateCache(long initialCapacity = 256) => new(blocks.Length, initialCapacity);

    private Tensor Head(Tensor hidden) =>
        lm_head is null ? Projection.Apply(hidden, embed_tokens.weight!) : lm_head.call(hidden);
}

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Common shape of the three attention modules: causal self-attention with rotary positions,
/// <c>x [batch, time, embedDim] -&gt; [batch, time, embedDim]</c>. Subclasses say what they compute; the kernel layer
/// says how.
/// </summary>
public abstract class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    private protected CausalSelfAttention(string name, int embedDim, int numHeads, int? numKvHeads,
        AttentionKernel kernel, double ropeTheta, RopeScaling? ropeScaling, bool bias) : base(name)
    {
        // Each subclass checks its arguments first thing (CheckShape), with the rule the config uses too.
        int kvHeads = numKvHeads ?? numHeads;
        EmbedDim = embedDim;
        NumHeads = numHeads;
        NumKvHeads = kvHeads;
        Kernel = kernel;
        RopeTheta = ropeTheta;
        RopeScaling = ropeScaling;
        HasBias = bias;
    }

    /// <summary>Model width <c>embedDim</c>.</summary>
    public int EmbedDim { get; }

    /// <summary>Number of heads as the official constructor counts them (V1: half the baseline's heads; V2: output heads).</summary>
    public int NumHeads { get; }

    /// <summary>Number of key/value heads (grouped-query attention when fewer than <see cref="NumHeads"/>).</summary>
    public int NumKvHeads { get; }

    /// <summary>Size of each rotary-embedded query/key (sub-)head.</summary>
    public abstract int HeadDim { get; }

    /// <summary>Which attention this module computes.</summary>
    public abstract AttentionKind Kind { get; }

    /// <summary>
    /// The kernel of every call. May be changed at any time, also while calls run on other threads: each call of this
    /// module reads it once and runs that kernel throughout, so a change takes effect from the next call (in a model, the
    /// layers of one model call may then run different kernels; all kernels compute the same function, up to rounding).
    /// </summary>
    public AttentionKernel Kernel { get; set; }

    /// <summary>
    /// How <see cref="AttentionKernel.Auto"/> chooses for this module (default <see cref="AutoKernelRule.For"/> its
    /// <see cref="Kind"/>). May be changed at any time, like <see cref="Kernel"/>: each call reads it once.
    /// </summary>
    public AutoKernelRule AutoRule
    {
        get => Volatile.Read(ref autoRule) ?? AutoKernelRule.For(Kind);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate(nameof(AutoRule));
            Volatile.Write(ref autoRule, value);
        }
    }
    private AutoKernelRule? autoRule;

    /// <summary>
    /// The heads of this module's attention maps and the score-sized tensors per head its naive kernel holds at its peak
    /// (scores, masked scores and probabilities of each map, and the differential map), for
    /// <see cref="AutoKernelRule.NaiveMapBytes"/>.
    /// </summary>
    private protected abstract (int Heads, int MapsPerHead) NaiveMaps { get; }

    /// <summary>Rotary base <c>theta</c>.</summary>
    public double RopeTheta { get; }

    /// <summary>Scaling of the rotary frequencies; null for none.</summary>
    public RopeScaling? RopeScaling { get; }

    /// <summary>True when the query, key, value and output projections have biases (<c>*.bias</c> keys, as Llama's <c>attention_bias</c>).</summary>
    public bool HasBias { get; }

    /// <summary>
    /// The rotary embedding of the queries and keys (the same in every layer of a model).
    /// Made on first use (the subclass sets <see cref="HeadDim"/> after this constructor); threads that race to make it
    /// publish one value, and every value is equal anyway.
    /// </summary>
    internal RotaryEmbedding Rotary =>
        Volatile.Read(ref rotary) ?? Interlocked.CompareExchange(ref rotary, new RotaryEmbedding(HeadDim, RopeTheta, RopeScaling), null) ?? rotary;
    private RotaryEmbedding? rotary;

    /// <summary>Causal self-attention over positions <c>0..time-1</c>: <c>[batch, time, embedDim] -&gt; [batch, time, embedDim]</c>.</summary>
    public override Tensor forward(Tensor x) => forward(x, null);

    /// <summary>
    /// Causal self-attention with a KV cache, explicit positions, a key padding mask or map capture (see
    /// <see cref="AttentionContext"/>). <paramref name="x"/>: <c>[batch, time, embedDim]</c>; returns the same shape.
    /// A cache serves one call at a time (see <see cref="KvCacheLayer"/>).
    /// </summary>
    public Tensor forward(Tensor x, AttentionContext? context)
    {
        Guard.Hidden(x, EmbedDim, nameof(x));
        var cache = context?.Cache;
        cache?.Use.Enter($"{Kind} attention forward");
        try
        {
            using var scope = NewDisposeScope();
            var inputs = Prepare(x, context);
            return Attend(x, inputs, cache, context?.MapsCaptured).MoveToOuterDisposeScope();
        }
        finally
        {
            cache?.Use.Exit();
        }
    }

    /// <summary>
    /// Runs the module on <paramref name="x"/> (<c>[batch, time, embedDim]</c>, positions <c>0..time-1</c>) without
    /// gradients and returns its attention maps.
    /// </summary>
    public AttentionMaps ComputeMaps(Tensor x)
    {
        AttentionMaps? maps = null;
        using (no_grad())
        using (NewDisposeScope())
            forward(x, new AttentionContext { MapsCaptured = m => maps = m });
        return maps!;
    }

    /// <summary>The shared inputs of a call of this module on <paramref name="x"/> (checked <c>[batch, time, embedDim]</c>).</summary>
    internal AttentionInputs Prepare(Tensor x, AttentionContext? context) =>
        new(x, context?.Cache?.Length ?? 0, context?.Positions, context?.KeyMask, Rotary);

    /// <summary>
    /// The attention of checked <paramref name="x"/> with prepared <paramref name="inputs"/>, this layer's
    /// <paramref name="cache"/> and <paramref name="mapSink"/>. Runs inside the caller's dispose scope.
    /// </summary>
    internal Tensor Attend(Tensor x, AttentionInputs inputs, KvCacheLayer? cache, Action<AttentionMaps>? mapSink) =>
        Attend(x, new AttentionCall(inputs, cache, mapSink,
            KernelFor(inputs.Batch, inputs.Time, inputs.Cached, is_grad_enabled(), inputs.DType)));

    /// <summary>
    /// The kernel a call of this module runs (<see cref="AttentionKernel.Naive"/> or <see cref="AttentionKernel.Fused"/>):
    /// <see cref="Kernel"/>, with <see cref="AttentionKernel.Auto"/> resolved by <see cref="AutoRule"/> for a call of
    /// <paramref name="batch"/> sequences of <paramref name="time"/> new positions after <paramref name="cached"/> cached
    /// ones, in <paramref name="dtype"/>, recording gradients or not. A call that captures attention maps runs the naive
    /// kernel whatever this says. Every call decides through this method, so it is what the call does.
    /// </summary>
    public AttentionKernel KernelFor(long batch, long time, long cached, bool recordsGradients, ScalarType dtype = ScalarType.Float32)
    {
        Guard.AtLeast(batch, nameof(batch), 1L);
        Guard.AtLeast(time, nameof(time), 1L);
        Guard.NonNegative(cached, nameof(cached));
        var kernel = Kernel; // read once: it may change while calls run
        if (kernel != AttentionKernel.Auto) return kernel;
        var (heads, mapsPerHead) = NaiveMaps;
        long mapBytes = AutoKernelRule.NaiveMapBytes(batch, heads, time, cached + time, mapsPerHead, dtype);
        return AutoRule.TakesNaive(time, cached, mapBytes, recordsGradients) ? AttentionKernel.Naive : AttentionKernel.Fused;
    }

    /// <summary>Computes the attention for a prepared call: projections, the kernel path <see cref="AttentionCall.Path"/> names, output.</summary>
    private protected abstract Tensor Attend(Tensor x, AttentionCall call);

    /// <summary>
    /// The rules every attention module shares: positive sizes, kv heads dividing the heads, a known kernel, a positive
    /// theta, a valid scaling.
    /// </summary>
    private static void CheckCommon(int embedDim, int numHeads, int? numKvHeads, AttentionKernel kernel, double ropeTheta,
        RopeScaling? ropeScaling, AttentionArgumentNames names)
    {
        Guard.Positive(embedDim, names.EmbedDim);
        Guard.Positive(numHeads, names.NumHeads);
        int kvHeads = numKvHeads ?? numHeads;
        Guard.Positive(kvHeads, names.NumKvHeads);
        if (numHeads % kvHeads != 0)
            throw new ArgumentException(
                $"{names.NumHeads} must be divisible by {names.NumKvHeads}; got {names.NumHeads}={numHeads}, {names.NumKvHeads}={kvHeads}.",
                names.NumKvHeads);
        Guard.Defined(kernel, names.Kernel);
        Guard.PositiveFinite(ropeTheta, names.RopeTheta);
        ropeScaling?.Validate(names.RopeScaling);
    }

    /// <summary>
    /// The shape rules of every attention module, for its constructor and for <see cref="DiffTransformerConfig.Validate"/>:
    /// <see cref="CheckCommon"/>, then the head size: an explicit <paramref name="headDim"/> must be positive and even;
    /// without one it is <paramref name="embedDim"/> / (<paramref name="subHeads"/> * <paramref name="numHeads"/>), which
    /// must divide evenly into an even size. Returns the head size.
    /// </summary>
    internal static int CheckShape(int embedDim, int numHeads, int? numKvHeads, int? headDim, int subHeads,
        AttentionKernel kernel, double ropeTheta, RopeScaling? ropeScaling, AttentionArgumentNames names)
    {
        CheckCommon(embedDim, numHeads, numKvHeads, kernel, ropeTheta, ropeScaling, names);
        int parts = subHeads * numHeads;
        string partsText = subHeads == 1 ? names.NumHeads : $"{subHeads} * {names.NumHeads}";
        if (headDim is { } explicitSize)
        {
            Guard.Positive(explicitSize, names.HeadDim);
            Guard.Even(explicitSize, names.HeadDim);
            return explicitSize;
        }
        Guard.DivisibleBy(embedDim, names.EmbedDim, parts, partsText);
        int size = embedDim / parts;
        string divisor = partsText.Contains(' ') ? $"({partsText})" : partsText;
        if (size % 2 != 0)
            throw new ArgumentException(
                $"{names.EmbedDim} / {divisor} (the head size) must be even for the rotary embedding; got {names.EmbedDim}={embedDim}, {partsText}={parts}, head size {size}.",
                names.EmbedDim);
        return size;
    }

    /// <summary>Creates a projection, with a bias when <see cref="HasBias"/> (the official modules have none).</summary>
    private protected Projection NewProjection(int inputs, int outputs) => new(inputs, outputs, HasBias);
}

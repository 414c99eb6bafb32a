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
        AttentionKernel kernel, double ropeTheta) : base(name)
    {
        Guard.Positive(embedDim, nameof(embedDim));
        Guard.Positive(numHeads, nameof(numHeads));
        int kvHeads = numKvHeads ?? numHeads;
        Guard.Positive(kvHeads, nameof(numKvHeads));
        if (numHeads % kvHeads != 0)
            throw new ArgumentException(
                $"numHeads must be divisible by numKvHeads; got numHeads={numHeads}, numKvHeads={kvHeads}.", nameof(numKvHeads));
        Guard.Defined(kernel, nameof(kernel));
        Guard.PositiveFinite(ropeTheta, nameof(ropeTheta));
        EmbedDim = embedDim;
        NumHeads = numHeads;
        NumKvHeads = kvHeads;
        Kernel = kernel;
        RopeTheta = ropeTheta;
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

    /// <summary>The kernel used by <see cref="forward"/>; may be changed at any time (both compute the same function).</summary>
    public AttentionKernel Kernel { get; set; }

    /// <summary>Rotary base <c>theta</c>.</summary>
    public double RopeTheta { get; }

    /// <summary>Causal self-attention over positions <c>0..time-1</c>: <c>[batch, time, embedDim] -&gt; [batch, time, embedDim]</c>.</summary>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// Causal self-attention with a KV cache, explicit positions, a key padding mask or map capture (see
    /// <see cref="AttentionContext"/>). <paramref name="x"/>: <c>[batch, time, embedDim]</c>; returns the same shape.
    /// </summary>
    public Tensor Forward(Tensor x, AttentionContext? context)
    {
        Guard.Hidden(x, EmbedDim, nameof(x));
        using var scope = NewDisposeScope();
        var call = AttentionCall.Create(x, context, HeadDim, RopeTheta, Kernel);
        return Attend(x, call).MoveToOuterDisposeScope();
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
            Forward(x, new AttentionContext { MapsCaptured = m => maps = m });
        return maps!;
    }

    /// <summary>Computes the attention for a validated call. Runs inside a dispose scope.</summary>
    private protected abstract Tensor Attend(Tensor x, AttentionCall call);

    /// <summary>Creates a Linear layer without bias, as all official projections are.</summary>
    private protected static TorchSharp.Modules.Linear Projection(int inputs, int outputs) =>
        nn.Linear(inputs, outputs, hasBias: false);
}

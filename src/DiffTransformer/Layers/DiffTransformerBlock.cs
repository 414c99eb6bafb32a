using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// A pre-norm decoder block: <c>h = x + attn(attn_norm(x))</c>, then <c>h + ffn(ffn_norm(h))</c>, with RMSNorm and a
/// SwiGLU feed-forward. Keys: <c>attn_norm.weight</c>, <c>attn.*</c> (the attention module's own keys),
/// <c>ffn_norm.weight</c>, <c>ffn.gate_proj.weight ffn.up_proj.weight ffn.down_proj.weight</c>.
/// </summary>
public sealed class DiffTransformerBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the checkpoint keys
    private readonly RmsNorm attn_norm, ffn_norm;
    private readonly CausalSelfAttention attn;
    private readonly SwiGlu ffn;
#pragma warning restore IDE1006

    /// <summary>Wraps <paramref name="attention"/> (any of the three kinds) into a block.</summary>
    /// <param name="attention">The attention module; the block owns it from now on.</param>
    /// <param name="ffnHiddenDim">Hidden width of the SwiGLU feed-forward.</param>
    /// <param name="normEps">Epsilon of both RMSNorms.</param>
    /// <param name="ffnBias">Biases on the feed-forward's projections.</param>
    public DiffTransformerBlock(CausalSelfAttention attention, int ffnHiddenDim, double normEps = 1e-5, bool ffnBias = false)
        : base(nameof(DiffTransformerBlock))
    {
        ArgumentNullException.ThrowIfNull(attention);
        attn = attention;
        attn_norm = new RmsNorm(attention.EmbedDim, normEps);
        ffn_norm = new RmsNorm(attention.EmbedDim, normEps);
        ffn = new SwiGlu(attention.EmbedDim, ffnHiddenDim, ffnBias);
        RegisterComponents();
        this.DetachParametersFromScopes();
    }

    /// <summary>The block's attention module.</summary>
    public CausalSelfAttention Attention => attn;

    /// <summary>The block's feed-forward.</summary>
    public SwiGlu FeedForward => ffn;

    /// <summary><c>[batch, time, embedDim] -&gt; [batch, time, embedDim]</c>, causal over positions <c>0..time-1</c>.</summary>
    public override Tensor forward(Tensor x) => forward(x, null);

    /// <summary>As <see cref="forward(Tensor)"/>, passing <paramref name="context"/> to the attention (cache, positions, masks).</summary>
    public Tensor forward(Tensor x, AttentionContext? context)
    {
        Guard.Hidden(x, attn.EmbedDim, nameof(x));
        var cache = context?.Cache;
        cache?.Use.Enter($"{nameof(DiffTransformerBlock)}.{nameof(forward)}");
        try
        {
            using var scope = NewDisposeScope();
            return Run(x, attn.Prepare(x, context), cache, context?.MapsCaptured).MoveToOuterDisposeScope();
        }
        finally
        {
            cache?.Use.Exit();
        }
    }

    /// <summary>
    /// The block on checked <paramref name="x"/> with the call's shared <paramref name="inputs"/>, this layer's
    /// <paramref name="cache"/> and <paramref name="mapSink"/>. Its intermediates are freed before it returns.
    /// </summary>
    internal Tensor Run(Tensor x, AttentionInputs inputs, KvCacheLayer? cache, Action<AttentionMaps>? mapSink)
    {
        using var scope = NewDisposeScope();
        var h = x.Plus(attn.Attend(attn_norm.call(x), inputs, cache, mapSink));
        return h.Plus(ffn.call(ffn_norm.call(h))).MoveToOuterDisposeScope();
    }
}

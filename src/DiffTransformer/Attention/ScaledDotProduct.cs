using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DiffTransformer;

/// <summary>
/// The kernel layer shared by all attention modules: causal scaled-dot-product attention with grouped KV heads,
/// either naive (explicit maps) or fused (SDPA). Queries are the last <c>Tq</c> positions of the <c>Tk</c> keys; the
/// naive functions serve training (<c>Tq == Tk</c>) and cached decoding (<c>Tq &lt; Tk</c>) alike, the fused ones have
/// an entry point each (<see cref="KernelPath"/>).
/// </summary>
internal static class ScaledDotProduct
{
    /// <summary>
    /// Fused attention of queries and keys of the same positions (<c>Tq == Tk</c>: training, prefill). q
    /// <c>[B, Hq, T, Dk]</c>, k <c>[B, Hk, T, Dk]</c>, v <c>[B, Hk, T, Dv]</c> with <c>Hq % Hk == 0</c>; query head h reads kv
    /// head <c>h / (Hq / Hk)</c>. <paramref name="mask"/>: <see cref="Allowed"/> with a key mask (<c>[B, 1, T, T]</c>), or
    /// null for the plain causal rule. Returns <c>[B, Hq, T, Dv]</c>.
    /// </summary>
    public static Tensor Fused(Tensor q, Tensor k, Tensor v, double scale, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        q = Rescaled(q, scale);
        k = RepeatKv(k, q.shape[1]);
        v = RepeatKv(v, q.shape[1]);
        Tensor result = mask is null
            ? F.scaled_dot_product_attention(q, k, v, is_casual: true)
            : F.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Fused attention of queries that continue a cache (<c>Tq &lt; Tk</c>: decoding), shapes as for <see cref="Fused"/>.
    /// The <c>Hq / Hk</c> query heads that share a kv head are laid out along the query axis (<c>[B, Hk, rep * Tq, Dk]</c>),
    /// so the cached keys and values are read in place: repeating them per query head would copy the whole cache on
    /// every decoding step.
    /// </summary>
    public static Tensor FusedAfterCache(Tensor q, Tensor k, Tensor v, double scale, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        q = Rescaled(q, scale);
        long batch = q.shape[0], hq = q.shape[1], tq = q.shape[2], hk = k.shape[1], tk = k.shape[2];
        long repeats = hq / hk;
        var grouped = Grouped(q, hk);
        if (mask is null && tq > 1) mask = Allowed(tq, tk, null, q.device); // [Tq, Tk]; else [B, 1, Tq, Tk] or none
        // Grouped rows are rep * Tq: the mask's rows must be tiled, unless a single query row broadcasts anyway.
        if (mask is not null && tq > 1 && repeats > 1)
            mask = mask.dim() == 2 ? mask.repeat(repeats, 1) : mask.repeat(1, 1, repeats, 1);
        var result = SmallBatchAttention.Applies(grouped, k, v, mask)
            ? SmallBatchAttention.Forward(grouped, k, v, mask)
            : F.scaled_dot_product_attention(grouped, k, v, attn_mask: mask);
        return result.reshape(batch, hq, tq, v.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>SDPA always scales by <c>1/sqrt(Dk)</c>: any other <paramref name="scale"/> is folded into q.</summary>
    private static Tensor Rescaled(Tensor q, double scale)
    {
        double correction = scale * Math.Sqrt(q.shape[3]);
        return Math.Abs(correction - 1) > 1e-12 ? q.Times(correction) : q;
    }

    /// <summary>
    /// Softmax attention probabilities <c>[B, Hq, Tq, Tk]</c> for q <c>[B, Hq, Tq, Dk]</c> and k <c>[B, Hk, Tk, Dk]</c>.
    /// Half-precision inputs are normalised in float32 and cast back. The query heads that share a kv head are stacked
    /// along the query axis for the product, so keys (a KV cache, say) are read in place, never repeated.
    /// <paramref name="mask"/> as for <see cref="Fused"/>.
    /// </summary>
    public static Tensor Probabilities(Tensor q, Tensor k, double scale, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        long batch = q.shape[0], heads = q.shape[1], tq = q.shape[2], kvHeads = k.shape[1], tk = k.shape[2];
        var grouped = Grouped(q.Times(scale), kvHeads);
        var scores = matmul(grouped, k.transpose(-1, -2)).view(batch, heads, tq, tk);
        var allowed = mask ?? Allowed(tq, tk, null, q.device);
        scores = scores.Filled(allowed.logical_not(), double.NegativeInfinity);
        var dtype = scores.dtype;
        var probabilities = DTypes.IsHalf(dtype) ? scores.to(ScalarType.Float32).softmax(-1).to(dtype) : scores.softmax(-1);
        return probabilities.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Applies probabilities <c>[B, Hq, Tq, Tk]</c> to values <c>[B, Hk, Tk, Dv]</c>: <c>[B, Hq, Tq, Dv]</c>, with query heads
    /// grouped by kv head as in <see cref="Probabilities"/> (the values are read in place).
    /// </summary>
    public static Tensor Apply(Tensor probabilities, Tensor v)
    {
        using var scope = NewDisposeScope();
        long batch = probabilities.shape[0], heads = probabilities.shape[1], tq = probabilities.shape[2];
        var grouped = Grouped(probabilities, v.shape[1]);
        return matmul(grouped, v).view(batch, heads, tq, v.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>[B, H, T, X] -&gt; [B, Hk, (H / Hk) * T, X]</c>: the query heads that share a kv head (consecutive heads, as
    /// <see cref="RepeatKv"/> pairs them) stacked along the time axis, so one product per kv head reads its keys or
    /// values in place.
    /// </summary>
    private static Tensor Grouped(Tensor t, long kvHeads)
    {
        long[] s = t.shape;
        return t.reshape(s[0], kvHeads, s[1] / kvHeads * s[2], s[3]);
    }

    /// <summary>Repeats each of the Hk heads of <c>[B, Hk, T, D]</c> consecutively to give <c>[B, heads, T, D]</c>.</summary>
    public static Tensor RepeatKv(Tensor kv, long heads)
    {
        long kvHeads = kv.shape[1];
        if (kvHeads == heads) return kv;
        long repeats = heads / kvHeads;
        long[] s = kv.shape;
        return kv.unsqueeze(2).expand(s[0], kvHeads, repeats, s[2], s[3]).reshape(s[0], heads, s[2], s[3]);
    }

    /// <summary>
    /// Boolean mask (true = may attend) of shape <c>[Tq, Tk]</c>, or <c>[B, 1, Tq, Tk]</c> with a key mask: causal with the
    /// queries at the last Tq positions, minus keys whose <paramref name="keyMask"/> (<c>[B, Tk]</c>) is false. A query
    /// always sees itself, so rows of padding queries stay finite.
    /// </summary>
    public static Tensor Allowed(long tq, long tk, Tensor? keyMask, Device device)
    {
        using var scope = NewDisposeScope();
        if (keyMask is not null && tq == 1)
        {
            // One query, at the last position (a decoding step): every key precedes it, so only padding keys are left
            // out, and it always sees itself. Two O(Tk) bool passes instead of building the causal rule.
            var row = keyMask.to(ScalarType.Bool).clone();
            row.narrow(1, tk - 1, 1).fill_(ScalarMath.True);
            return row.view(keyMask.shape[0], 1, 1, tk).MoveToOuterDisposeScope();
        }
        var queryPosition = ScalarMath.Range(tk - tq, tk, 1, ScalarType.Int64, device).unsqueeze(-1);
        var keyPosition = ScalarMath.Range(0, tk, 1, ScalarType.Int64, device).unsqueeze(0);
        var allowed = keyPosition <= queryPosition;
        if (keyMask is not null)
        {
            var self = (keyPosition == queryPosition).unsqueeze(0);
            var keys = keyMask.to(ScalarType.Bool).view(keyMask.shape[0], 1, 1, tk);
            allowed = allowed.unsqueeze(0) & (keys | self);
        }
        return allowed.MoveToOuterDisposeScope();
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Softmax attention of one or two query rows per kv head over a KV cache, on the CPU in float32 without gradients: a
/// decoding step's <c>softmax(q k^T / sqrt(Dk)) v</c>, which must read every cached key and value once. LibTorch's CPU
/// SDPA reads a cache evicted from the CPU caches at 8-17 GB/s on the development machine, and at about half that when a
/// kv head serves two query rows (V1's two maps, paired or grouped heads); this path reads each head's keys, then its
/// values, front to back as single streams (docs/benchmarks.md, "Decoding, third round").
/// </summary>
/// <remarks>
/// Per head, on the calling thread (as <see cref="SmallBatchLinear"/>, for the same reason): the scores, eight keys at
/// a time against each row (<see cref="VectorMath.EightDots"/>; masked keys at <c>-inf</c>); the softmax of each row in
/// place (<see cref="VectorMath.SoftmaxInPlace"/>), while the head's scores are still in L1; the values weighted by the
/// probabilities on one pass over the values. The scores live in a pooled buffer, not a tensor, so a call makes one
/// tensor (its result) and four views that hold its inputs' memory. The result differs from SDPA's in the last bits only.
/// </remarks>
internal static class SmallBatchAttention
{
    /// <summary>
    /// The most query rows per kv head it takes (query heads per kv head times the step's tokens). Against SDPA, alone,
    /// on a cache evicted from the CPU caches (docs/benchmarks.md): one row 0.75x-0.81x SDPA's time, two rows (V1's two
    /// maps, V2's paired heads) 0.55x-0.70x; four rows only 0.86x-0.97x cold and 2.3x-2.8x warm, eight rows slower
    /// either way: every row adds a pass of stores over the head's output for each value it weighs.
    /// </summary>
    public const int MaxRows = 2;

    /// <summary>
    /// Whether <see cref="Forward"/> computes <c>scaled_dot_product_attention(q, k, v, attn_mask: mask)</c>: q
    /// <c>[B, H, R, Dk]</c> with <c>R &lt;= MaxRows</c>, k <c>[B, H, Tk, Dk]</c>, v <c>[B, H, Tk, Dv]</c> (any strides with
    /// contiguous rows, as a cache's views have), mask null or boolean <c>[B or 1, 1, 1, Tk]</c> (a key mask shared by the
    /// rows) that leaves every sequence at least one key.
    /// </summary>
    public static bool Applies(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        foreach (var t in new[] { q, k, v })
            if (t.device_type != DeviceType.CPU || t.dtype != ScalarType.Float32 || t.dim() != 4 || t.stride(3) != 1) return false;
        if (is_grad_enabled() && (q.requires_grad || k.requires_grad || v.requires_grad)) return false;
        long batch = q.size(0), heads = q.size(1), rows = q.size(2), dk = q.size(3), keys = k.size(2);
        if (rows < 1 || rows > MaxRows || keys < 1 || dk < 1 || v.size(3) < 1) return false;
        if (k.size(0) != batch || v.size(0) != batch || k.size(1) != heads || v.size(1) != heads || k.size(3) != dk || v.size(2) != keys) return false;
        if (mask is null) return true;
        if (mask.device_type != DeviceType.CPU || mask.dtype != ScalarType.Bool || mask.dim() != 4) return false;
        if (mask.size(1) != 1 || mask.size(2) != 1 || mask.size(3) != keys || (mask.size(0) != batch && mask.size(0) != 1)) return false;
        using var everyRowHasAKey = mask.any(3).all(); // a row with no key: SDPA's rule for it, not ours
        return everyRowHasAKey.item<bool>();
    }

    /// <summary><c>[B, H, R, Dv]</c>, contiguous. Call only when <see cref="Applies"/> holds.</summary>
    public static unsafe Tensor Forward(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        long batch = q.size(0), heads = q.size(1), rows = q.size(2), dk = q.size(3), keys = k.size(2), dv = v.size(3);
        var sizes = new Sizes((int)rows, keys, dk, dv);
        var result = empty(new[] { batch, heads, rows, dv }, ScalarType.Float32, q.device);
        using var qHeld = TensorMemory.FirstElement(q);
        using var kHeld = TensorMemory.FirstElement(k);
        using var vHeld = TensorMemory.FirstElement(v);
        using var maskHeld = mask is null ? null : TensorMemory.FirstElement(mask);
        var qStrides = (q.stride(0), q.stride(1), q.stride(2));
        var kStrides = (k.stride(0), k.stride(1), k.stride(2));
        var vStrides = (v.stride(0), v.stride(1), v.stride(2));
        var maskStrides = mask is null ? default : (mask.size(0) == 1 ? 0 : mask.stride(0), mask.stride(3));
        float scale = (float)(1 / Math.Sqrt(dk));
        // One head's scores at a time, in a pooled buffer: they stay in the CPU's caches from the scores to the values.
        var buffer = ArrayPool<float>.Shared.Rent(checked((int)(rows * keys)));
        try
        {
            fixed (float* sp = buffer)
            fixed (byte* qp = qHeld.bytes, kp = kHeld.bytes, vp = vHeld.bytes, op = result.bytes)
            fixed (byte* mp = maskHeld is null ? default : maskHeld.bytes)
                for (long b = 0; b < batch; b++)
                    for (long h = 0; h < heads; h++)
                    {
                        Scores(sizes, (float*)qp + b * qStrides.Item1 + h * qStrides.Item2, qStrides.Item3,
                            (float*)kp + b * kStrides.Item1 + h * kStrides.Item2, kStrides.Item3,
                            mp == null ? null : mp + b * maskStrides.Item1, maskStrides.Item2, scale, sp);
                        for (int r = 0; r < rows; r++) VectorMath.SoftmaxInPlace(sp + r * keys, keys);
                        Weighted(sizes, sp, (float*)vp + b * vStrides.Item1 + h * vStrides.Item2, vStrides.Item3,
                            (float*)op + (b * heads + h) * rows * dv);
                    }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
        return result;
    }

    private readonly record struct Sizes(int Rows, long Keys, long Dk, long Dv);

    /// <summary>
    /// One head's <c>[rows, keys]</c> scores, reading its keys once in order: eight keys at a time against each row
    /// (<see cref="VectorMath.EightDots"/>) where the hardware and <c>Dk</c> allow, one dot product a key otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Scores(in Sizes s, float* q, long qRow, float* k, long kRow, byte* allowed, long maskKey, float scale, float* scores)
    {
        long t = 0;
        if (VectorMath.HasBlockKernels && s.Dk % 8 == 0)
            for (; t + 8 <= s.Keys; t += 8)
                for (int r = 0; r < s.Rows; r++)
                    VectorMath.EightDots(q + r * qRow, k + t * kRow, kRow, s.Dk, scale, scores + r * s.Keys + t);
        for (; t < s.Keys; t++)
            for (int r = 0; r < s.Rows; r++)
                scores[r * s.Keys + t] = VectorMath.Dot(q + r * qRow, k + t * kRow, s.Dk) * scale;
        if (allowed == null) return;
        for (t = 0; t < s.Keys; t++)
            if (allowed[t * maskKey] == 0)
                for (int r = 0; r < s.Rows; r++) scores[r * s.Keys + t] = float.NegativeInfinity;
    }

    /// <summary>One head's <c>[rows, dv]</c> output, <c>sum_t p[r, t] v[t]</c>, reading its values once in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Weighted(in Sizes s, float* p, float* v, long vRow, float* output)
    {
        new Span<float>(output, checked((int)(s.Rows * s.Dv))).Clear();
        for (long t = 0; t < s.Keys; t++)
        {
            float* value = v + t * vRow;
            for (int r = 0; r < s.Rows; r++)
            {
                float weight = p[r * s.Keys + t];
                if (weight != 0) VectorMath.AddScaled(weight, value, output + r * s.Dv, s.Dv);
            }
        }
    }
}

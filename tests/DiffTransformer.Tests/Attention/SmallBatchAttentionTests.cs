using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// SmallBatchAttention computes what SDPA computes for the decoding calls it takes (a few rows per kv head, a cache's
/// strided views, a key mask), and leaves every other call to SDPA.
/// </summary>
public class SmallBatchAttentionTests
{
    // [B, H, R, Dk] queries against a cache of `keys` positions held in a buffer of twice that capacity.
    [Theory]
    [InlineData(1, 6, 2, 300, 128, 128, false)] // V1: two maps per kv head, sub-heads placed in 2d = 128
    [InlineData(2, 3, 2, 37, 8, 16, true)] // values wider than keys, a key mask per sequence
    [InlineData(1, 2, 1, 1, 13, 13, false)] // one key, a head size with a scalar tail
    [InlineData(3, 1, 2, 50, 64, 64, true)]
    [InlineData(1, 12, 1, 259, 64, 64, false)] // softmax: one row per kv head; keys past the last block of eight
    [InlineData(2, 4, 1, 16, 64, 64, true)]
    public void ItComputesSoftmaxAttentionOverTheCache(int batch, int heads, int rows, int keys, int dk, int dv, bool masked)
    {
        using var scope = NewDisposeScope();
        using var grad = no_grad();
        manual_seed(batch * 100 + keys);
        var q = randn(batch, heads, rows, dk);
        var k = randn(batch, heads, 2 * keys, dk).narrow(2, 0, keys);
        var v = randn(batch, heads, 2 * keys, dv).narrow(2, 0, keys);
        Tensor? mask = null;
        if (masked)
        {
            mask = rand(batch, 1, 1, keys).Greater(0.5);
            mask.select(3, keys - 1).fill_(ScalarMath.True); // the new token always sees itself
        }
        Assert.False(k.is_contiguous());
        Assert.True(SmallBatchAttention.Applies(q, k, v, mask));

        var q64 = q.to(ScalarType.Float64);
        var scores = matmul(q64, k.to(ScalarType.Float64).transpose(-1, -2)).Times(1 / Math.Sqrt(dk));
        if (mask is not null) scores = scores.Filled(mask.logical_not(), double.NegativeInfinity);
        var expected = matmul(scores.softmax(-1), v.to(ScalarType.Float64));
        var actual = SmallBatchAttention.Forward(q, k, v, mask);
        Compare.Close(actual, expected, 1e-6, $"attention {batch}x{heads}x{rows} over {keys}");
        if (dk == dv) Compare.Close(actual, nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask), 1e-6, "against SDPA");
    }

    [Fact]
    public void CallsItDoesNotCoverGoToSdpa()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        var k = randn(1, 2, 10, 8);
        var v = randn(1, 2, 10, 8);
        using (no_grad())
        {
            Assert.False(SmallBatchAttention.Applies(randn(1, 2, SmallBatchAttention.MaxRows + 1, 8), k, v, null));
            Assert.False(SmallBatchAttention.Applies(randn(1, 2, 2, 8).to(ScalarType.Float64), k.to(ScalarType.Float64), v.to(ScalarType.Float64), null));
            Assert.False(SmallBatchAttention.Applies(randn(1, 2, 2, 8), k, v, ones(1, 1, 2, 10, ScalarType.Bool))); // a mask per row
            Assert.False(SmallBatchAttention.Applies(randn(1, 2, 2, 8), k, v, zeros(1, 1, 1, 10, ScalarType.Bool))); // no key at all
            Assert.False(SmallBatchAttention.Applies(randn(1, 2, 2, 8), randn(1, 2, 8, 10).transpose(2, 3), v, null)); // rows not contiguous
            Assert.True(SmallBatchAttention.Applies(randn(1, 2, 2, 8), k, v, ones(1, 1, 1, 10, ScalarType.Bool)));
        }
        Assert.False(SmallBatchAttention.Applies(randn(1, 2, 2, 8).requires_grad_(true), k, v, null)); // gradients: SDPA's backward
    }
}

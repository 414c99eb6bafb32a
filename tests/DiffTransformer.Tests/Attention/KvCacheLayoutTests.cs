using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>A cache holds one batch size and dtype at a time; it refuses others until it is reset.</summary>
public class KvCacheLayoutTests
{
    [Theory]
    [InlineData(3, ScalarType.Float64)] // another batch size
    [InlineData(2, ScalarType.Float32)] // another dtype
    public void NonEmptyCacheRefusesAnotherLayoutUntilReset(long batch, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(AttentionKind.Differential, embed: 32, heads: 2);
        using var cache = new KvCacheLayer(initialCapacity: 4);
        module.forward(Build.Input(2, 3, 32), new AttentionContext { Cache = cache });

        module.to(dtype);
        var other = Build.Input(batch, 2, 32, dtype);
        var error = Assert.Throws<InvalidOperationException>(() => module.forward(other, new AttentionContext { Cache = cache }));
        Assert.Contains("keys [2, 2, 4, 16] (Float64", error.Message); // the key buffer: batch 2, 2 KV heads, capacity 4
        Assert.Contains($"keys [{batch}, 2, 2, 16] ({dtype}", error.Message);
        Assert.Contains("Call Reset()", error.Message);
        Assert.Equal(3, cache.Length);

        cache.Reset();
        var cached = module.forward(other, new AttentionContext { Cache = cache });
        Compare.Close(cached, module.call(other), dtype == ScalarType.Float64 ? 1e-12 : 1e-5, "after reset");
        Assert.Equal(2, cache.Length);
    }
}

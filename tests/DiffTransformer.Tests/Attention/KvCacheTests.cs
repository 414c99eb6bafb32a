using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Prefill plus cached steps compute what one full forward computes.</summary>
public class KvCacheTests
{
    public static TheoryData<AttentionKind, AttentionKernel, int?> Cases()
    {
        var data = new TheoryData<AttentionKind, AttentionKernel, int?>();
        foreach (var kind in Build.Kinds)
        foreach (var kernel in Build.Kernels)
        foreach (var kv in new int?[] { null, 1 })
            data.Add(kind, kernel, kv);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AttentionWithCacheEqualsFullForward(AttentionKind kind, AttentionKernel kernel, int? kvHeads)
    {
        using var scope = NewDisposeScope();
        var module = Build.Attention(kind, embed: 32, heads: 2, kvHeads: kvHeads, kernel: kernel);
        var x = Build.Input(2, 9, 32);
        var full = module.call(x);
        using var cache = new KvCacheLayer(initialCapacity: 2); // forces the buffers to grow
        var parts = new List<Tensor>();
        foreach (var (start, length) in new[] { (0, 4), (4, 1), (5, 3), (8, 1) })
            parts.Add(module.forward(x.narrow(1, start, length), new AttentionContext { Cache = cache }));
        Assert.Equal(9, cache.Length);
        Compare.Close(cat(parts, 1), full, 1e-12, "cached vs full");
    }
}

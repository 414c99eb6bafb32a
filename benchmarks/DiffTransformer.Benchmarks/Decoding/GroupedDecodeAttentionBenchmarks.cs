using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// One decode step of fused attention over a cache, for the head layouts of the decode sweep's model: the KV heads
/// repeated per query head (a copy of the whole cache every step, as the library did before), against the query heads of
/// each KV group laid along the query axis (what <c>ScaledDotProduct</c> does for cached calls now). One thread.
/// Run: <c>dotnet run -c Release --project benchmarks/DiffTransformer.Benchmarks -- --filter '*GroupedDecodeAttention*'</c>.
/// </summary>
[ShortRunJob]
public class GroupedDecodeAttentionBenchmarks
{
    Tensor buffer = null!, query = null!, keys = null!, values = null!;

    /// <summary>Query heads / KV heads / head size: softmax (8/8/32), V1 (8 placed query heads / 4 / 64), V2 (16/8/32), V1 with one KV head (8/1/64).</summary>
    [Params("softmax 8/8/32", "V1 8/4/64", "V2 16/8/32", "V1-GQA 8/1/64")]
    public string Layout { get; set; } = "";

    /// <summary>Cached positions.</summary>
    [Params(256, 2048)]
    public int Cached { get; set; }

    long QueryHeads => long.Parse(Layout.Split(' ')[1].Split('/')[0]);
    long KvHeads => long.Parse(Layout.Split('/')[1]);
    long HeadSize => long.Parse(Layout.Split('/')[2]);

    /// <summary>Cache buffers with room to spare (as the KV cache keeps them) and one query token.</summary>
    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(1);
        manual_seed(1);
        buffer = randn(new[] { 2L, 1, KvHeads, 4096, HeadSize });
        keys = buffer[0].narrow(2, 0, Cached);
        values = buffer[1].narrow(2, 0, Cached);
        query = randn(1, QueryHeads, 1, HeadSize);
    }

    /// <summary>KV heads repeated to the query heads, then SDPA.</summary>
    [Benchmark(Baseline = true)]
    public void RepeatedKv()
    {
        using var scope = NewDisposeScope();
        long repeats = QueryHeads / KvHeads;
        Tensor Repeat(Tensor kv) => kv.unsqueeze(2).expand(1, KvHeads, repeats, Cached, HeadSize).reshape(1, QueryHeads, Cached, HeadSize);
        F.scaled_dot_product_attention(query, Repeat(keys), Repeat(values));
    }

    /// <summary>Query heads of a group along the query axis: SDPA reads the cache in place.</summary>
    [Benchmark]
    public void GroupedQueries()
    {
        using var scope = NewDisposeScope();
        var grouped = query.reshape(1, KvHeads, QueryHeads / KvHeads, HeadSize);
        F.scaled_dot_product_attention(grouped, keys, values).reshape(1, QueryHeads, 1, HeadSize);
    }

    /// <summary>Releases the tensors.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        query.Dispose();
        keys.Dispose();
        values.Dispose();
        buffer.Dispose();
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Logits from a prefill plus cached steps equal those of one full forward over the same tokens.</summary>
public class CachedLogitsTests
{
    public static TheoryData<AttentionKind, int?> Cases() => Decoding.KindsAndKvHeads();

    [Theory]
    [MemberData(nameof(Cases))]
    public void PrefillAndStepsEqualFullForwardInFloat64(AttentionKind kind, int? kvHeads) =>
        CheckPrefillAndSteps(kind, kvHeads, ScalarType.Float64, AttentionKernel.Fused, 1e-9);

    [Theory]
    [MemberData(nameof(Cases))]
    public void PrefillAndStepsEqualFullForwardInFloat32(AttentionKind kind, int? kvHeads) =>
        CheckPrefillAndSteps(kind, kvHeads, ScalarType.Float32, AttentionKernel.Fused, 1e-5);

    [Theory]
    [MemberData(nameof(Cases))]
    public void PrefillAndStepsEqualFullForwardWithTheNaiveKernel(AttentionKind kind, int? kvHeads) =>
        CheckPrefillAndSteps(kind, kvHeads, ScalarType.Float64, AttentionKernel.Naive, 1e-9);

    [Theory]
    [MemberData(nameof(Cases))]
    public void LeftPaddedBatchRowsEqualEachPromptAlone(AttentionKind kind, int? kvHeads)
    {
        var model = Decoding.Model(kind, kvHeads);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int[] lengths = { 7, 3, 5 };
        const int steps = 4, time = 7;
        var prompts = lengths.Select((n, i) => Decoding.RandomTokens(n, seed: 20 + i)).ToArray();
        var continuations = lengths.Select((_, i) => Decoding.RandomTokens(steps, seed: 40 + i)).ToArray();

        var padded = zeros(new long[] { 3, time }, ScalarType.Int64);
        var mask = zeros(new long[] { 3, time }, ScalarType.Bool);
        for (int row = 0; row < 3; row++)
        {
            padded[row, TensorIndex.Slice(time - lengths[row])] = tensor(prompts[row]);
            mask[row, TensorIndex.Slice(time - lengths[row])] = true;
        }
        using var cache = model.CreateCache(initialCapacity: 4); // grows during the prefill
        var parts = new List<Tensor> { model.forward(padded, cache, mask) };
        for (int s = 0; s < steps; s++)
            parts.Add(model.forward(tensor(continuations.Select(c => c[s]).ToArray()).unsqueeze(1), cache));
        var batched = cat(parts, 1); // [3, time + steps, vocab]

        for (int row = 0; row < 3; row++)
        {
            var alone = model.call(tensor(prompts[row].Concat(continuations[row]).ToArray()).unsqueeze(0));
            var real = batched[row].narrow(0, time - lengths[row], lengths[row] + steps).unsqueeze(0);
            Compare.Close(real, alone, 1e-9, $"{kind} kv={kvHeads} row {row}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ResetCacheServesANewBatchSize(AttentionKind kind, int? kvHeads)
    {
        var model = Decoding.Model(kind, kvHeads);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cache = model.CreateCache(initialCapacity: 64);
        model.forward(tensor(Decoding.RandomTokens(9, 1)).view(1, 9), cache);
        cache.Reset();
        Assert.Equal(0, cache.Length);

        var tokens = tensor(Decoding.RandomTokens(20, 2)).view(2, 10);
        var full = model.call(tokens);
        var cached = cat(new[] { model.forward(tokens.narrow(1, 0, 6), cache), model.forward(tokens.narrow(1, 6, 4), cache) }, 1);
        Compare.Close(cached, full, 1e-9, "after reset, batch 2");

        cache.Reset();
        model.to(ScalarType.Float32); // ... and another dtype
        var full32 = model.call(tokens);
        var cached32 = cat(new[] { model.forward(tokens.narrow(1, 0, 9), cache), model.forward(tokens.narrow(1, 9, 1), cache) }, 1);
        Assert.Equal(ScalarType.Float32, cached32.dtype);
        Compare.Close(cached32, full32, 1e-5, "after reset, float32");
    }

    [Fact]
    public void CropRewindsTheCache()
    {
        var model = Decoding.Model(AttentionKind.Differential, kvHeads: 1);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cache = model.CreateCache();
        var tokens = tensor(Decoding.RandomTokens(8, 3)).view(1, 8);
        var full = model.call(tokens);
        model.forward(tokens.narrow(1, 0, 6), cache);
        model.forward(tensor(new long[] { 1, 2, 3 }).view(1, 3), cache); // a detour, then rewind
        cache.Crop(6);
        var step = model.forward(tokens.narrow(1, 6, 2), cache);
        Compare.Close(step, full.narrow(1, 6, 2), 1e-9, "after crop");
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Crop(9));
    }

    [Fact]
    public void EnsureCapacityPreallocatesAndKeepsWhatIsCached()
    {
        var model = Decoding.Model(AttentionKind.DifferentialV2, kvHeads: 1);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Decoding.RandomTokens(30, 4)).view(1, 30);
        var full = model.call(tokens);
        using var cache = model.CreateCache(initialCapacity: 2);
        cache.EnsureCapacity(20); // before anything is cached: the first append allocates 20
        var parts = new List<Tensor> { model.forward(tokens.narrow(1, 0, 5), cache) };
        Assert.Equal(20, cache.Layers[1].Capacity);
        cache.EnsureCapacity(30); // with 5 cached: grows now, keeping them
        Assert.Equal(30, cache.Layers[0].Capacity);
        for (int t = 5; t < 30; t++) parts.Add(model.forward(tokens.narrow(1, t, 1), cache));
        Assert.Equal(30, cache.Layers[0].Capacity); // no regrowth
        Compare.Close(cat(parts, 1), full, 1e-9, "after EnsureCapacity");
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.EnsureCapacity(0));
    }

    [Fact]
    public void ForwardRejectsABatchThatDiffersFromTheCache()
    {
        var model = Decoding.Model(AttentionKind.Softmax);
        using var scope = NewDisposeScope();
        using var cache = model.CreateCache();
        model.forward(zeros(new long[] { 2, 3 }, ScalarType.Int64), cache);
        var error = Assert.Throws<ArgumentException>(() => model.forward(zeros(new long[] { 3, 1 }, ScalarType.Int64), cache));
        Assert.Contains("batch 3", error.Message);
        Assert.Contains("batch 2", error.Message);
    }

    static void CheckPrefillAndSteps(AttentionKind kind, int? kvHeads, ScalarType dtype, AttentionKernel kernel, double tolerance)
    {
        var model = Decoding.Model(kind, kvHeads, dtype, kernel);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = tensor(Decoding.RandomTokens(24, 7)).view(2, 12);
        var full = model.call(tokens);
        using var cache = model.CreateCache(initialCapacity: 2);
        for (int round = 0; round < 2; round++) // the second round reuses the cache after a reset
        {
            var parts = new List<Tensor> { model.forward(tokens.narrow(1, 0, 5), cache) };
            for (int t = 5; t < 9; t++) parts.Add(model.forward(tokens.narrow(1, t, 1), cache));
            parts.Add(model.forward(tokens.narrow(1, 9, 3), cache)); // a few tokens per step also work
            Assert.Equal(12, cache.Length);
            Compare.Close(cat(parts, 1), full, tolerance, $"{kind} kv={kvHeads} {dtype} {kernel} round {round}");
            cache.Reset();
        }
    }
}

using DiffTransformer.Tests.Checkpoints.HuggingFace;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.HuggingFace;

/// <summary>
/// Models loaded by <see cref="HuggingFaceCheckpoint"/> compute what transformers' eager code computed on the golden
/// checkpoints: logits at the real positions of left-padded batches (float32 within 1e-5 relative with both kernels,
/// float64 against the pure-float64 reference), the greedy continuation, and cached decoding.
/// </summary>
public sealed class HuggingFaceParityTests
{
    public static TheoryData<string, AttentionKernel> CasesAndKernels()
    {
        var data = new TheoryData<string, AttentionKernel>();
        foreach (string name in HuggingFaceFixtures.Cases)
            foreach (var kernel in Build.Kernels)
                data.Add(name, kernel);
        return data;
    }

    public static TheoryData<string> Cases() => new(HuggingFaceFixtures.Cases);

    [Theory]
    [MemberData(nameof(CasesAndKernels))]
    public void LogitsMatchTransformersAtRealPositions(string name, AttentionKernel kernel)
    {
        using var golden = HuggingFaceGolden.Load(name);
        using var model = HuggingFaceCheckpoint.Load(golden.Directory, new HuggingFaceLoadOptions { Kernel = kernel });
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(golden.InputIds, null, golden.AttentionMask);
        Compare.Close(golden.RealPositions(logits), golden.RealPositions(golden.Logits), 1e-5, $"hf {name} {kernel} float32 logits");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float64MatchesThePureFloat64Reference(string name)
    {
        using var golden = HuggingFaceGolden.Load(name);
        using var model = HuggingFaceCheckpoint.Load(golden.Directory, new HuggingFaceLoadOptions { DType = ScalarType.Float64 });
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(golden.InputIds, null, golden.AttentionMask);
        Assert.Equal(ScalarType.Float64, logits.dtype);
        Compare.Close(golden.RealPositions(logits), golden.RealPositions(golden.LogitsFloat64), 1e-12, $"hf {name} float64 logits");
    }

    [Theory]
    [MemberData(nameof(CasesAndKernels))]
    public void GreedyContinuationOfALeftPaddedBatchEqualsTransformers(string name, AttentionKernel kernel)
    {
        using var golden = HuggingFaceGolden.Load(name);
        using var model = HuggingFaceCheckpoint.Load(golden.Directory, new HuggingFaceLoadOptions { Kernel = kernel });
        // The golden continuation does not stop at an end-of-sequence token: no stop tokens here.
        var sequences = model.Generate(golden.InputIds, golden.AttentionMask,
            new GenerationOptions { MaxNewTokens = 8, StopTokens = Array.Empty<long>() }, cancellationToken: TestContext.Current.CancellationToken);
        var expected = golden.Greedy.data<long>().ToArray();
        for (int row = 0; row < sequences.Count; row++)
            Assert.Equal(expected.Skip(8 * row).Take(8), sequences[row].Tokens);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CachedDecodingEqualsFullForwards(string name)
    {
        using var golden = HuggingFaceGolden.Load(name);
        using var model = HuggingFaceCheckpoint.Load(golden.Directory);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long time = golden.InputIds.shape[1];
        using var cache = model.CreateCache();
        var parts = new List<Tensor>
        {
            model.forward(golden.InputIds.narrow(1, 0, time - 3), cache, golden.AttentionMask.narrow(1, 0, time - 3)),
        };
        for (long t = time - 3; t < time; t++) parts.Add(model.forward(golden.InputIds.narrow(1, t, 1), cache));
        var full = model.forward(golden.InputIds, null, golden.AttentionMask);
        Compare.Close(golden.RealPositions(cat(parts, 1)), golden.RealPositions(full), 1e-5, $"hf {name} cached vs full");
    }

    [Fact]
    public void ProgressIsReportedAfterEveryTensorUpToTheWholeCheckpoint()
    {
        var reports = new List<HuggingFaceLoadProgress>();
        string directory = HuggingFaceFixtures.Directory("diffllama_gqa_tied_sharded");
        using var model = HuggingFaceCheckpoint.Load(directory, new HuggingFaceLoadOptions { Progress = new Recorder(reports) });
        var stored = HuggingFaceFixtures.ExpectedTensors("diffllama_gqa_tied_sharded");
        long bytes = stored.Sum(t => 4 * t.Shape.Aggregate(1L, (a, b) => a * b)); // float32
        Assert.Equal(stored.Count, reports.Count);
        Assert.Equal(Enumerable.Range(1, stored.Count), reports.Select(r => r.TensorsRead));
        Assert.All(reports, r => Assert.Equal((bytes, stored.Count), (r.TotalBytes, r.TotalTensors)));
        Assert.Equal(bytes, reports[^1].BytesRead);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.Second.BytesRead > p.First.BytesRead));
    }

    /// <summary>Records reports synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Recorder(List<HuggingFaceLoadProgress> reports) : IProgress<HuggingFaceLoadProgress>
    {
        public void Report(HuggingFaceLoadProgress value) => reports.Add(value);
    }

    [Fact]
    public void EndOfSequenceIdsBecomeTheModelsStopTokens()
    {
        using var model = HuggingFaceCheckpoint.Load(HuggingFaceFixtures.Directory("diffllama_mha"));
        using var config = HuggingFaceFixtures.ConfigJson("diffllama_mha");
        Assert.Equal(new[] { config.RootElement.GetProperty("eos_token_id").GetInt64() }, model.StopTokens);
    }

    [Fact]
    public void BFloat16CheckpointLoadsAsBFloat16WithoutFloat32Parameters()
    {
        using var golden = HuggingFaceGolden.Load("llama_headdim_bf16");
        using var model = HuggingFaceCheckpoint.Load(golden.Directory, new HuggingFaceLoadOptions { DType = ScalarType.BFloat16 });
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(golden.InputIds, null, golden.AttentionMask).to(ScalarType.Float32);
        // The stored weights are bfloat16, so only the activations round: within bfloat16's precision.
        Compare.Close(golden.RealPositions(logits), golden.RealPositions(golden.Logits), 3e-2, "hf bf16 as bfloat16");
    }
}

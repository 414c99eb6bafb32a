#pragma warning disable xUnit1051 // each generation here takes milliseconds
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Generation on a GPU: skipped without one.</summary>
public class CudaGenerationTests
{
    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void GenerationOnCudaMatchesTheCpu(AttentionKind kind)
    {
        Cuda.Require();
        var model = Decoding.Model(kind, kvHeads: 1);
        var prompts = new[] { Decoding.RandomTokens(5, 60), Decoding.RandomTokens(2, 61) };
        var options = new GenerationOptions { MaxNewTokens = 10, RepetitionPenalty = 1.2 };
        var onCpu = model.Generate(prompts, options);
        model.to(CUDA);
        using var cache = model.CreateCache();
        var onGpu = model.Generate(prompts, options, cache);
        for (int row = 0; row < 2; row++) Assert.Equal(onCpu[row].Tokens, onGpu[row].Tokens);

        var sampling = options with { Temperature = 1, TopP = 0.9, Seed = 7 };
        var first = model.Generate(prompts, sampling, cache);
        var second = model.GenerateStream(prompts, sampling).ToList();
        for (int row = 0; row < 2; row++) Assert.Equal(first[row].Tokens, second.Where(t => t.Row == row).Select(t => t.Token));
    }
}

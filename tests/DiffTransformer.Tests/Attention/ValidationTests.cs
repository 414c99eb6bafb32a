using TorchSharp;
using static TorchSharp.torch;
using static DiffTransformer.Tests.Rejection;

namespace DiffTransformer.Tests;

/// <summary>Every constructor and forward rule gives an ArgumentException naming the argument, the rule and the value.</summary>
public class ValidationTests
{
    [Fact]
    public void SoftmaxAttentionRules()
    {
        Rejects(() => new SoftmaxAttention(0, 2), "embedDim", "positive", "0");
        Rejects(() => new SoftmaxAttention(32, -1), "numHeads", "positive", "-1");
        Rejects(() => new SoftmaxAttention(32, 4, 0), "numKvHeads", "positive", "0");
        Rejects(() => new SoftmaxAttention(32, 4, 3), "numKvHeads", "divisible", "numHeads=4", "numKvHeads=3");
        Rejects(() => new SoftmaxAttention(30, 4), "embedDim", "divisible", "30");
        Rejects(() => new SoftmaxAttention(36, 4), "embedDim", "even", "9");
        Rejects(() => new SoftmaxAttention(32, 4, ropeTheta: 0), "ropeTheta", "positive", "0");
        Rejects(() => new SoftmaxAttention(32, 4, ropeTheta: double.NaN), "ropeTheta", "NaN");
        Rejects(() => new SoftmaxAttention(32, 4, kernel: (AttentionKernel)7), "kernel", "Auto, Naive, Fused", "7");
    }

    [Fact]
    public void DiffAttentionRules()
    {
        Rejects(() => new DiffAttention(32, -1, 2), "depth", ">= 0", "-1");
        Rejects(() => new DiffAttention(36, 0, 4), "embedDim", "2 * numHeads", "36");
        Rejects(() => new DiffAttention(24, 0, 4), "embedDim", "embedDim / (2 * numHeads) (the head size) must be even", "head size 3");
        Rejects(() => new DiffAttention(32, 0, 2, 3), "numKvHeads", "divisible", "numKvHeads=3");
        Rejects(() => new DiffAttention(32, 0, 0), "numHeads", "positive");
        Rejects(() => new DiffAttention(32, 0, 2, headDim: 5), "headDim", "even", "5");
        Rejects(() => new DiffAttention(32, 0, 2, headNormEps: 0), "eps", "positive finite", "0");
    }

    [Fact]
    public void HeadDimAndRopeScalingRules()
    {
        Rejects(() => new SoftmaxAttention(32, 4, headDim: 0), "headDim", "positive", "0");
        Rejects(() => new SoftmaxAttention(32, 4, headDim: 7), "headDim", "even", "7");
        var linear = new RopeScaling { Kind = RopeScalingKind.Linear, Factor = 0.5 };
        Rejects(() => new SoftmaxAttention(32, 4, ropeScaling: linear), "ropeScaling.Factor", ">= 1", "0.5");
        var llama3 = new RopeScaling { Kind = RopeScalingKind.Llama3, Factor = 8, LowFreqFactor = 4, HighFreqFactor = 4 };
        Rejects(() => new DiffAttention(32, 0, 2, ropeScaling: llama3), "ropeScaling.HighFreqFactor", "exceed", "4");
        Rejects(() => new DiffAttentionV2(32, 2, null, 8, ropeScaling: llama3 with { HighFreqFactor = 8, OriginalMaxPositionEmbeddings = 0 }),
            "ropeScaling.OriginalMaxPositionEmbeddings", "positive", "0");
        Rejects(() => new SoftmaxAttention(32, 4, ropeScaling: new RopeScaling { Kind = (RopeScalingKind)3 }), "ropeScaling.Kind", "Linear, Llama3", "3");
        var good = Build.TinyConfig(AttentionKind.Softmax);
        Rejects(() => (good with { RopeScaling = linear }).Validate(), "RopeScaling.Factor", ">= 1");
        Rejects(() => (good with { HeadDim = 3 }).Validate(), "HeadDim", "even", "3");
        Rejects(() => (good with { HeadNormEps = -1 }).Validate(), "HeadNormEps", "positive finite", "-1");
    }

    [Fact]
    public void DiffAttentionV2Rules()
    {
        Rejects(() => new DiffAttentionV2(32, 2, null, 0), "headDim", "positive", "0");
        Rejects(() => new DiffAttentionV2(32, 2, null, 7), "headDim", "even", "7");
        Rejects(() => new DiffAttentionV2(32, 4, 3, 8), "numKvHeads", "divisible");
        Rejects(() => new DiffAttentionV2(-32, 4, null, 8), "embedDim", "positive");
    }

    public static TheoryData<AttentionKind> Kinds() => new(Build.Kinds);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ForwardChecksRankAndWidth(AttentionKind kind)
    {
        var module = Build.Attention(kind);
        Rejects(() => module.call(zeros(2, 5, 16, dtype: ScalarType.Float64)), "x", "[batch, time, 32]", "[2, 5, 16]");
        Rejects(() => module.call(zeros(5, 32, dtype: ScalarType.Float64)), "x", "[batch, time, 32]", "[5, 32]");
        Rejects(() => module.call(zeros(2, 0, 32, dtype: ScalarType.Float64)), "x", "[2, 0, 32]");
        Rejects(() => module.call(zeros(new long[] { 2, 5, 32 }, ScalarType.Int64)), "x", "floating-point", "Int64");
    }

    [Fact]
    public void ContextChecksPositionsAndKeyMask()
    {
        var module = Build.Attention(AttentionKind.Differential);
        var x = Build.Input(2, 5, 32);
        Rejects(() => module.forward(x, new AttentionContext { Positions = arange(4) }), "Positions", "[5] or [2, 5]", "[4]");
        Rejects(() => module.forward(x, new AttentionContext { Positions = zeros(2, 5) }), "Positions", "int64", "Float32");
        Rejects(() => module.forward(x, new AttentionContext { KeyMask = ones(2, 4) }), "KeyMask", "[2, 5]", "[2, 4]");
    }

    [Fact]
    public void ConfigRules()
    {
        var good = Build.TinyConfig(AttentionKind.Differential);
        Rejects(() => (good with { VocabSize = 0 }).Validate(), "VocabSize", "positive");
        Rejects(() => (good with { NumLayers = 0 }).Validate(), "NumLayers", "positive");
        Rejects(() => (good with { EmbedDim = 30 }).Validate(), "EmbedDim", "2 * NumHeads", "30");
        Rejects(() => (good with { NumKvHeads = 3 }).Validate(), "NumKvHeads", "divisible");
        Rejects(() => (good with { Attention = AttentionKind.DifferentialV2, HeadDim = 5 }).Validate(), "HeadDim", "even");
        Rejects(() => (good with { FfnHiddenDim = -4 }).Validate(), "FfnHiddenDim", "positive");
        Rejects(() => (good with { MaxSequenceLength = 0 }).Validate(), "MaxSequenceLength", "positive");
        Rejects(() => new DiffTransformerLM(good with { NumHeads = 3 }), "EmbedDim", "2 * NumHeads");
        Rejects(() => (good with { Attention = (AttentionKind)9 }).Validate(), "Attention", "one of", "9");
        Rejects(() => (good with { NormEps = 0 }).Validate(), "NormEps", "positive finite", "0");
        Rejects(() => (good with { EmbedDim = 0 }).Validate(), "EmbedDim", "positive", "0");
        Rejects(() => (good with { NumHeads = -2 }).Validate(), "NumHeads", "positive", "-2");
        Rejects(() => (good with { NumKvHeads = 0 }).Validate(), "NumKvHeads", "positive", "0");
        Rejects(() => (good with { Kernel = (AttentionKernel)5 }).Validate(), "Kernel", "one of", "5");
        Rejects(() => (good with { RopeTheta = double.NaN }).Validate(), "RopeTheta", "positive finite", "NaN");
        // Softmax heads must split EmbedDim evenly into heads of even size; V1 into 2 * NumHeads sub-heads of even size.
        var softmax = good with { Attention = AttentionKind.Softmax };
        Rejects(() => (softmax with { NumHeads = 3, NumKvHeads = 1 }).Validate(), "EmbedDim", "divisible by NumHeads", "EmbedDim=32");
        // The modules' own rules, in the config's names: the same message as the constructor's, with EmbedDim for embedDim.
        Rejects(() => (softmax with { NumHeads = 32 }).Validate(), "EmbedDim", "EmbedDim / NumHeads (the head size) must be even", "head size 1");
        Rejects(() => (good with { EmbedDim = 24, NumHeads = 4 }).Validate(), "EmbedDim", "EmbedDim / (2 * NumHeads) (the head size) must be even", "head size 3");
        var v2 = good with { Attention = AttentionKind.DifferentialV2 };
        Rejects(() => (v2 with { NumHeads = 3, NumKvHeads = 1 }).Validate(), "EmbedDim", "divisible by NumHeads", "NumHeads=3");
        Rejects(() => (v2 with { HeadDim = 0 }).Validate(), "HeadDim", "positive", "0");
    }

    [Fact]
    public void ModelChecksTokens()
    {
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        Rejects(() => model.call(tensor(new long[] { 1, 2, 16 }).unsqueeze(0)), "tokens", "[0, 16)", "to 16");
        Rejects(() => model.call(tensor(new long[] { -1, 2 }).unsqueeze(0)), "tokens", "[0, 16)", "-1");
        Rejects(() => model.call(tensor(new long[] { 1, 2 })), "tokens", "[batch, time]", "[2]");
        Rejects(() => model.call(zeros(1, 3)), "tokens", "integer", "Float32");
        Rejects(() => model.call(zeros(new long[] { 1, 65 }, ScalarType.Int64)), "tokens", "MaxSequenceLength is 64", "65");
        Rejects(() => DiffTransformerLM.CrossEntropy(zeros(1, 3, 16), tensor(new long[] { 1, 2, 99 }).unsqueeze(0)), "targets", "[0, 16)", "99");
        Rejects(() => DiffTransformerLM.CrossEntropy(zeros(1, 3, 16), zeros(new long[] { 1, 4 }, ScalarType.Int64)), "targets", "[1, 4]");
    }
}

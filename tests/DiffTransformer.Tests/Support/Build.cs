using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>Small modules of each kind for property tests.</summary>
internal static class Build
{
    public static readonly AttentionKind[] Kinds = { AttentionKind.Softmax, AttentionKind.Differential, AttentionKind.DifferentialV2 };

    /// <summary>The kernels every equivalence and parity test runs with.</summary>
    public static readonly AttentionKernel[] Kernels = { AttentionKernel.Naive, AttentionKernel.Fused };

    /// <summary>Every attention kind with every kernel.</summary>
    public static TheoryData<AttentionKind, AttentionKernel> KindsAndKernels()
    {
        var data = new TheoryData<AttentionKind, AttentionKernel>();
        foreach (var kind in Kinds)
            foreach (var kernel in Kernels)
                data.Add(kind, kernel);
        return data;
    }

    /// <summary>An attention module with the given head layout; V1 gets depth 2, V2 head size 8.</summary>
    public static CausalSelfAttention Attention(AttentionKind kind, int embed = 32, int heads = 2, int? kvHeads = null,
        AttentionKernel kernel = AttentionKernel.Auto, ScalarType dtype = ScalarType.Float64, long seed = 1)
    {
        manual_seed(seed);
        CausalSelfAttention module = kind switch
        {
            AttentionKind.Softmax => new SoftmaxAttention(embed, heads, kvHeads, kernel),
            AttentionKind.Differential => new DiffAttention(embed, depth: 2, heads, kvHeads, kernel),
            _ => new DiffAttentionV2(embed, heads, kvHeads, headDim: 8, kernel),
        };
        module.to(dtype);
        return module;
    }

    public static Tensor Input(long batch, long time, long embed, ScalarType dtype = ScalarType.Float64, long seed = 2)
    {
        manual_seed(seed);
        return randn(new[] { batch, time, embed }, dtype: dtype);
    }

    public static DiffTransformerConfig TinyConfig(AttentionKind kind, int vocab = 16) => new()
    {
        Attention = kind,
        VocabSize = vocab,
        EmbedDim = 32,
        NumLayers = 2,
        NumHeads = kind == AttentionKind.Softmax ? 4 : 2,
        MaxSequenceLength = 64,
    };
}

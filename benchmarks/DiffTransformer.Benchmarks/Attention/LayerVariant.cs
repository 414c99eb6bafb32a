using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>The attention layers compared, all at embed 512 with query/key heads of 64.</summary>
public enum LayerVariant
{
    /// <summary>Softmax, 8 heads of 64 (8 KV heads): the paper's baseline for V1 with 4 heads.</summary>
    Softmax,

    /// <summary>Differential V1, 4 heads (two query/key sub-heads of 64, values of 128): the same parameters as <see cref="Softmax"/>.</summary>
    DiffV1,

    /// <summary>Softmax with 8 query heads of 64 and 4 KV heads: the attention of the same width as <see cref="DiffV2"/>.</summary>
    SoftmaxGqa,

    /// <summary>Differential V2, 4 output heads (8 query heads of 64, paired) and 4 KV heads.</summary>
    DiffV2,
}

/// <summary>Builds the layers of <see cref="LayerVariant"/> and says what each is compared with.</summary>
public static class LayerVariants
{
    /// <summary>Model width of every layer.</summary>
    public const int EmbedDim = 512;

    /// <summary>Query/key head size of every layer.</summary>
    public const int HeadDim = 64;

    /// <summary>All variants, baselines first.</summary>
    public static readonly LayerVariant[] All = { LayerVariant.Softmax, LayerVariant.DiffV1, LayerVariant.SoftmaxGqa, LayerVariant.DiffV2 };

    /// <summary>The softmax layer a variant's time is divided by (a baseline is its own).</summary>
    public static LayerVariant BaselineOf(LayerVariant variant) => variant switch
    {
        LayerVariant.DiffV1 => LayerVariant.Softmax,
        LayerVariant.DiffV2 => LayerVariant.SoftmaxGqa,
        _ => variant,
    };

    /// <summary>Creates the layer in float32 on the CPU.</summary>
    public static CausalSelfAttention Create(LayerVariant variant, AttentionKernel kernel) => variant switch
    {
        LayerVariant.Softmax => new SoftmaxAttention(EmbedDim, 8, 8, kernel),
        LayerVariant.DiffV1 => new DiffAttention(EmbedDim, depth: 1, numHeads: 4, numKvHeads: 4, kernel),
        LayerVariant.SoftmaxGqa => new SoftmaxAttention(EmbedDim, 8, 4, kernel),
        LayerVariant.DiffV2 => new DiffAttentionV2(EmbedDim, 4, 4, HeadDim, kernel),
        _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, "Unknown layer variant."),
    };

    /// <summary>A short description of the heads, for reports.</summary>
    public static string Describe(LayerVariant variant) => variant switch
    {
        LayerVariant.Softmax => "softmax, 8 heads of 64",
        LayerVariant.DiffV1 => "Diff V1, 4 heads (q/k 2x64, v 128)",
        LayerVariant.SoftmaxGqa => "softmax, 8 q heads of 64, 4 KV heads",
        LayerVariant.DiffV2 => "Diff V2, 4 heads (8 q heads of 64), 4 KV heads",
        _ => variant.ToString(),
    };

    /// <summary>Number of parameters of a module (a layer or a whole model): the one place the benchmarks count them.</summary>
    public static long ParameterCount(nn.Module module) => module.parameters().Sum(p => p.numel());
}

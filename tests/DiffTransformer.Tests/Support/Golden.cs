using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>A golden case produced by the official PyTorch modules (fixtures/golden, copied from shared/golden).</summary>
internal sealed class Golden : IDisposable
{
    /// <summary>Cases made by the official modules as they are (float32 round trips included).</summary>
    public static readonly string[] Cases = { "baseline_mha", "v1_mha", "v1_gqa", "v2_gqa" };

    /// <summary>Cases made by the official modules with their float32 round trips disabled (tools/golden, mode exact).</summary>
    public static readonly string[] ExactCases = { "baseline_mha", "baseline_gqa", "v1_mha", "v1_gqa", "v2_mha", "v2_gqa" };

    private Golden(string name, Dictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Name = name;
        Tensors = tensors;
        Metadata = metadata;
    }

    public string Name { get; }
    public Dictionary<string, Tensor> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public static string PathOf(string name, bool exact = false) =>
        Path.Combine(AppContext.BaseDirectory, "fixtures", exact ? "golden-exact" : "golden", name + ".safetensors");

    public static Golden Load(string name, bool exact = false)
    {
        string path = PathOf(name, exact);
        return new Golden(name, Safetensors.Load(path), Safetensors.ReadHeader(path).Metadata);
    }

    public int Int(string key) => int.Parse(Metadata[key], System.Globalization.CultureInfo.InvariantCulture);

    public string Variant => Metadata["variant"];

    /// <summary>Builds the module the case describes, in <paramref name="dtype"/>, loaded with the case's weights.</summary>
    public CausalSelfAttention CreateModule(AttentionKernel kernel, ScalarType dtype)
    {
        int embed = Int("embed_dim"), heads = Int("num_heads"), kvHeads = Int("num_kv_heads");
        CausalSelfAttention module = Variant switch
        {
            "v1" => new DiffAttention(embed, Int("depth"), heads, kvHeads, kernel),
            "v2" => new DiffAttentionV2(embed, heads, kvHeads, Int("head_dim"), kernel),
            "baseline" => new SoftmaxAttention(embed, heads, kvHeads, kernel),
            _ => throw new InvalidOperationException(Variant),
        };
        module.to(dtype);
        var weights = Weights();
        var (missing, unexpected) = module.load_state_dict(weights, strict: true);
        Assert.Empty(missing);
        Assert.Empty(unexpected);
        return module;
    }

    /// <summary>The module weights: every tensor that is not an input, output or gradient.</summary>
    public Dictionary<string, Tensor> Weights() => Tensors
        .Where(p => !p.Key.StartsWith("input.") && !p.Key.StartsWith("output.") && !p.Key.StartsWith("grad."))
        .ToDictionary(p => p.Key, p => p.Value);

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Dispose();
    }
}

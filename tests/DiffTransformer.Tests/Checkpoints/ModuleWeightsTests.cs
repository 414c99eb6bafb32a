using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Checkpoints;

public sealed class ModuleWeightsTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void SavedModelReadsBackBitExactly()
    {
        manual_seed(11);
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        string path = temp.File("model.safetensors");
        ModuleWeights.Save(model, path);

        var state = model.state_dict();
        var loaded = Safetensors.Load(path);
        Assert.Equal(state.Keys.Order(StringComparer.Ordinal), loaded.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in state) Assert.True(Bits.Same(value, loaded[key]), key);
        Assert.Equal("pt", Safetensors.ReadHeader(path).Metadata["format"]);

        manual_seed(12);
        using var other = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        var report = ModuleWeights.Load(other, path);
        Assert.True(report.IsExact);
        foreach (var (key, value) in other.state_dict()) Assert.True(Bits.Same(value, state[key]), key);
    }

    [Fact]
    public void KeysAreTheDocumentedOnes()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential) with { NumLayers = 1 });
        var expected = new[]
        {
            "embed_tokens.weight", "layers.0.attn.k_proj.weight", "layers.0.attn.lambda_k1", "layers.0.attn.lambda_k2",
            "layers.0.attn.lambda_q1", "layers.0.attn.lambda_q2", "layers.0.attn.out_proj.weight", "layers.0.attn.q_proj.weight",
            "layers.0.attn.subln.weight", "layers.0.attn.v_proj.weight", "layers.0.attn_norm.weight", "layers.0.ffn.down_proj.weight",
            "layers.0.ffn.gate_proj.weight", "layers.0.ffn.up_proj.weight", "layers.0.ffn_norm.weight", "lm_head.weight", "norm.weight",
        };
        Assert.Equal(expected, model.state_dict().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void StrictLoadListsEveryProblemInOneErrorAndLeavesTheModuleUnchanged()
    {
        manual_seed(1);
        using var model = new SoftmaxAttention(32, 4);
        var before = Snapshot(model);
        string path = temp.File("bad.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor>
        {
            ["q_proj.weight"] = randn(32, 32),                          // fits
            ["k_proj.weight"] = randn(16, 32),                          // wrong shape
            ["v_proj.weight"] = randn(32, 32, dtype: ScalarType.Float64), // wrong dtype
            ["extra.bias"] = randn(3),                                  // unexpected
        });                                                             // out_proj.weight missing

        var error = Assert.Throws<CheckpointMismatchException>(() => ModuleWeights.Load(model, path));
        Assert.Equal("path", error.ParamName);
        Assert.Equal(new[] { "out_proj.weight" }, error.Report.Missing);
        Assert.Equal(new[] { "extra.bias" }, error.Report.Unexpected);
        Assert.Equal(new[] { "k_proj.weight", "v_proj.weight" }, error.Report.Mismatched.Select(m => m.Key));
        foreach (string text in new[] { "out_proj.weight", "extra.bias", "k_proj.weight", "[16, 32]", "v_proj.weight", "Float64", "wrongly shaped", "wrongly typed", "unchanged" })
            Assert.Contains(text, error.Message);
        AssertUnchanged(model, before);
    }

    [Fact]
    public void NonStrictLoadCopiesWhatFitsAndReportsTheRest()
    {
        manual_seed(2);
        using var model = new SoftmaxAttention(32, 4);
        var before = Snapshot(model);
        var q = randn(32, 32);
        var tensors = new Dictionary<string, Tensor>
        {
            ["q_proj.weight"] = q, ["k_proj.weight"] = randn(16, 32), ["extra"] = randn(2),
        };
        var report = ModuleWeights.Load(model, tensors, strict: false);
        Assert.Equal(new[] { "q_proj.weight" }, report.Loaded);
        Assert.Equal(new[] { "out_proj.weight", "v_proj.weight" }, report.Missing);
        Assert.Equal(new[] { "extra" }, report.Unexpected);
        Assert.Equal("k_proj.weight", Assert.Single(report.Mismatched).Key);
        Assert.False(report.IsExact);
        var after = model.state_dict();
        Assert.True(Bits.Same(after["q_proj.weight"], q));
        Assert.True(Bits.Same(after["k_proj.weight"], before["k_proj.weight"]));
    }

    [Fact]
    public void DtypeConversionIsOptIn()
    {
        using var model = new SoftmaxAttention(32, 4);
        var tensors = model.state_dict().ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float64).detach());
        Assert.Throws<CheckpointMismatchException>(() => ModuleWeights.Load(model, tensors));
        var report = ModuleWeights.Load(model, tensors, convertDTypes: true);
        Assert.True(report.IsExact);
        var ints = new Dictionary<string, Tensor>(tensors) { ["q_proj.weight"] = zeros(new long[] { 32, 32 }, ScalarType.Int32) };
        Assert.Throws<CheckpointMismatchException>(() => ModuleWeights.Load(model, ints, convertDTypes: true)); // ints are never weights
    }

    /// <summary>Interop: the golden files were written by PyTorch; our loader puts their weights into our modules.</summary>
    [Theory]
    [InlineData("baseline_mha")]
    [InlineData("v1_mha")]
    [InlineData("v1_gqa")]
    [InlineData("v2_gqa")]
    public void WeightsWrittenByPyTorchLoadIntoOurModules(string name)
    {
        using var golden = Golden.Load(name, exact: true);
        string path = Golden.PathOf(name, exact: true);
        int embed = golden.Int("embed_dim"), heads = golden.Int("num_heads"), kvHeads = golden.Int("num_kv_heads");
        using CausalSelfAttention module = golden.Variant switch
        {
            "v1" => new DiffAttention(embed, golden.Int("depth"), heads, kvHeads),
            "v2" => new DiffAttentionV2(embed, heads, kvHeads, golden.Int("head_dim")),
            _ => new SoftmaxAttention(embed, heads, kvHeads),
        };
        module.to(ScalarType.Float64);

        // Strict: the file also holds inputs, outputs and gradients, so it is refused with those keys listed.
        var error = Assert.Throws<CheckpointMismatchException>(() => ModuleWeights.Load(module, path));
        Assert.Contains("input.x", error.Report.Unexpected);
        Assert.Empty(error.Report.Missing);

        var report = ModuleWeights.Load(module, path, strict: false);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Mismatched);
        Assert.Equal(golden.Weights().Keys.Order(StringComparer.Ordinal), report.Loaded);
        foreach (var (key, value) in module.state_dict()) Assert.True(Bits.Same(value, golden.Tensors[key]), key);

        using var y = module.forward(golden.Tensors["input.x"]);
        Compare.Close(y, golden.Tensors["output.y"], 1e-12, $"{name} output after loading the PyTorch file");
    }

    [Fact]
    public void AFileWeWriteFromPyTorchWeightsIsReadBackBitExactly()
    {
        using var golden = Golden.Load("v1_gqa", exact: true);
        string path = temp.File("copy.safetensors");
        Safetensors.Save(path, golden.Tensors, golden.Metadata);
        var copy = Safetensors.Load(path);
        Assert.Equal(golden.Tensors.Keys.Order(), copy.Keys.Order());
        foreach (var (key, value) in golden.Tensors) Assert.True(Bits.Same(value, copy[key]), key);
        Assert.Equal(golden.Metadata.OrderBy(p => p.Key), Safetensors.ReadHeader(path).Metadata.OrderBy(p => p.Key));
    }

    private static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    private static void AssertUnchanged(nn.Module module, Dictionary<string, Tensor> before)
    {
        foreach (var (key, value) in module.state_dict()) Assert.True(Bits.Same(value, before[key]), $"{key} changed");
    }
}

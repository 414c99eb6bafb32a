using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>config.json and generation_config.json: the golden files, both rotary styles, the writer and its round trip.</summary>
public sealed class HuggingFaceConfigTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string> Cases() => new(HuggingFaceFixtures.Cases);

    [Theory]
    [MemberData(nameof(Cases))]
    public void GoldenConfigsParseToTheValuesInTheirFiles(string name)
    {
        var config = HuggingFaceConfigReader.Read(HuggingFaceFixtures.ConfigPath(name));
        using var doc = HuggingFaceFixtures.ConfigJson(name);
        var c = doc.RootElement;
        bool diff = c.GetProperty("model_type").GetString() == "diffllama";
        Assert.Equal(diff ? HuggingFaceModelType.DiffLlama : HuggingFaceModelType.Llama, config.ModelType);
        Assert.Equal(c.GetProperty("hidden_size").GetInt32(), config.HiddenSize);
        Assert.Equal(c.GetProperty("intermediate_size").GetInt32(), config.IntermediateSize);
        Assert.Equal(c.GetProperty("num_hidden_layers").GetInt32(), config.NumHiddenLayers);
        Assert.Equal(c.GetProperty("num_attention_heads").GetInt32(), config.NumAttentionHeads);
        Assert.Equal(c.GetProperty("num_key_value_heads").GetInt32(), config.NumKeyValueHeads);
        Assert.Equal(c.GetProperty("head_dim").GetInt32(), config.HeadDim);
        Assert.Equal(c.GetProperty("rms_norm_eps").GetDouble(), config.RmsNormEps);
        Assert.Equal(c.GetProperty("rope_theta").GetDouble(), config.RopeTheta);
        Assert.Equal(JsonValueKind.Null, c.GetProperty("rope_scaling").ValueKind);
        Assert.Null(config.RopeScaling);
        Assert.Equal(c.GetProperty("attention_bias").GetBoolean(), config.AttentionBias);
        Assert.Equal(c.TryGetProperty("mlp_bias", out var mlp) && mlp.GetBoolean(), config.MlpBias);
        Assert.Equal(c.GetProperty("tie_word_embeddings").GetBoolean(), config.TieWordEmbeddings);
        Assert.Equal(c.GetProperty("hidden_act").GetString(), config.HiddenAct);
        Assert.Equal(c.GetProperty("vocab_size").GetInt32(), config.VocabSize);
        Assert.Equal(c.GetProperty("max_position_embeddings").GetInt32(), config.MaxPositionEmbeddings);
        Assert.Equal(c.GetProperty("bos_token_id").GetInt32(), config.BosTokenId);
        Assert.Equal(new[] { c.GetProperty("eos_token_id").GetInt32() }, config.EosTokenIds);
        Assert.False(config.EosTokenIdIsList);
        Assert.Null(config.PadTokenId);
        string dtype = (c.TryGetProperty("dtype", out var d) ? d : c.GetProperty("torch_dtype")).GetString()!;
        Assert.Equal(dtype == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32, config.DType);
        Assert.Equal(c.GetProperty("attention_dropout").GetDouble(), config.AttentionDropout);
        Assert.Equal(c.GetProperty("initializer_range").GetDouble(), config.InitializerRange);
        Assert.Equal(c.GetProperty("use_cache").GetBoolean(), config.UseCache);
        if (diff)
        {
            Assert.Equal(c.GetProperty("lambda_std_dev").GetDouble(), config.LambdaStdDev);
            Assert.Null(config.PretrainingTp);
        }
        else
        {
            Assert.Equal(c.GetProperty("pretraining_tp").GetInt32(), config.PretrainingTp);
            Assert.Null(config.LambdaStdDev);
        }

        var generation = HuggingFaceGenerationConfig.ReadOptional(HuggingFaceFixtures.Directory(name))!;
        Assert.Equal(new HuggingFaceGenerationConfig(1, new[] { 2 }, false, null), generation);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WriterReproducesTransformersFilesAndReadsBackEqual(string name)
    {
        var config = HuggingFaceConfigReader.Read(HuggingFaceFixtures.ConfigPath(name));
        byte[] written = HuggingFaceConfigWriter.Serialize(config);
        Assert.Equal(config, HuggingFaceConfigReader.Parse(written, "written.json"));

        // The same JSON as transformers wrote, but for the two documented choices: torch_dtype for dtype, and no
        // transformers_version. Text compared, so key order, indentation and float spelling (1e-06, 10000.0) match too.
        var golden = JsonNode.Parse(File.ReadAllText(HuggingFaceFixtures.ConfigPath(name)))!.AsObject();
        golden.Remove("transformers_version");
        if (golden.Remove("dtype", out var dtype)) golden["torch_dtype"] = dtype;
        var expected = new JsonObject(golden.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(written)), Encoding.UTF8.GetString(written));
        if (name == "llama_gqa_bias") // spells the key torch_dtype already: byte-identical but for the version line
        {
            var lines = File.ReadAllText(HuggingFaceFixtures.ConfigPath(name)).Split('\n')
                .Where(line => !line.Contains("\"transformers_version\"", StringComparison.Ordinal));
            Assert.Equal(string.Join("\n", lines), Encoding.UTF8.GetString(written));
        }
    }

    [Fact]
    public void FloatsAreSpelledAsPythonReprSpellsThem()
    {
        // Expected strings printed by /usr/bin/python3: print(repr(v)) for each value.
        var cases = new (double Value, string Repr)[]
        {
            (1e-06, "1e-06"), (1e-05, "1e-05"), (0.02, "0.02"), (10000.0, "10000.0"), (50000.0, "50000.0"), (0.1, "0.1"),
            (0.0, "0.0"), (1e-4, "0.0001"), (1e16, "1e+16"), (1.5e-5, "1.5e-05"), (123456789.123, "123456789.123"),
            (5e-324, "5e-324"), (1e22, "1e+22"), (0.5, "0.5"), (2.0, "2.0"), (8.0, "8.0"), (-0.0, "-0.0"),
            (1e15, "1000000000000000.0"), (3.14159e-7, "3.14159e-07"), (0.00012, "0.00012"),
        };
        foreach (var (value, repr) in cases) Assert.Equal(repr, PythonJson.FloatRepr(value));
    }

    [Fact]
    public void Transformers5RopeParametersAreReadLikeThe4xKeys()
    {
        var legacy = Read(Variant("llama_mha", c =>
        {
            c["rope_theta"] = 500000.0;
            c["rope_scaling"] = Llama3Json(legacyType: false);
        }));
        var v5 = Read(Variant("llama_mha", c =>
        {
            c.Remove("rope_theta");
            c.Remove("rope_scaling");
            var p = Llama3Json(legacyType: false);
            p["rope_theta"] = 500000.0;
            c["rope_parameters"] = p;
        }));
        var both = Read(Variant("llama_mha", c => // both styles, agreeing
        {
            c["rope_theta"] = 500000.0;
            c["rope_scaling"] = Llama3Json(legacyType: true);
            var p = Llama3Json(legacyType: false);
            p["rope_theta"] = 500000.0;
            c["rope_parameters"] = p;
        }));
        var expected = Llama3(32.0, 1.0, 4.0, 8192);
        foreach (var config in new[] { legacy, v5, both })
        {
            Assert.Equal(500000.0, config.RopeTheta);
            Assert.Equal(expected, config.RopeScaling);
        }
        Assert.Equal(legacy, v5);

        var defaultV5 = Read(Variant("diffllama_mha", c =>
        {
            c.Remove("rope_theta");
            c.Remove("rope_scaling");
            c["rope_parameters"] = new JsonObject { ["rope_theta"] = 20000.0, ["rope_type"] = "default" };
        }));
        Assert.Equal(20000.0, defaultV5.RopeTheta);
        Assert.Null(defaultV5.RopeScaling);
        var untyped = Read(Variant("llama_mha", c => // 5.x without rope_type: the default rotary embedding
        {
            c.Remove("rope_theta");
            c.Remove("rope_scaling");
            c["rope_parameters"] = new JsonObject { ["rope_theta"] = 1000.0 };
        }));
        Assert.Equal((1000.0, (RopeScaling?)null), (untyped.RopeTheta, untyped.RopeScaling));
        var linear = Read(Variant("llama_mha", c => c["rope_scaling"] = new JsonObject { ["type"] = "linear", ["factor"] = 4.0 }));
        Assert.Equal(new RopeScaling { Kind = RopeScalingKind.Linear, Factor = 4.0 }, linear.RopeScaling);
    }

    [Fact]
    public void ScaledRotaryAndOtherSettingsRoundTripThroughTheWriter()
    {
        var config = HuggingFaceConfigReader.Read(HuggingFaceFixtures.ConfigPath("llama_gqa_bias")) with
        {
            RopeScaling = Llama3(8.0, 1.0, 4.0, 64),
            RopeTheta = 500000.0,
            EosTokenIds = new[] { 2, 7 },
            EosTokenIdIsList = true,
            PadTokenId = 0,
            BosTokenId = null,
            DType = ScalarType.BFloat16,
            PretrainingTp = 2,
        };
        var back = HuggingFaceConfigReader.Parse(HuggingFaceConfigWriter.Serialize(config), "x.json");
        Assert.Equal(config, back);
        var linear = config with { RopeScaling = new RopeScaling { Kind = RopeScalingKind.Linear, Factor = 2.5 }, EosTokenIds = new[] { 5 }, EosTokenIdIsList = true };
        Assert.Equal(linear, HuggingFaceConfigReader.Parse(HuggingFaceConfigWriter.Serialize(linear), "x.json"));
        Assert.NotEqual(linear, linear with { EosTokenIds = new[] { 6 } });

        var generation = new HuggingFaceGenerationConfig(1, new[] { 2, 3 }, true, 0);
        string path = temp.File("generation_config.json");
        File.WriteAllBytes(path, generation.Serialize());
        Assert.Equal(generation, HuggingFaceGenerationConfig.Read(path));
    }

    [Fact]
    public void AbsentKeysTakeTransformersDefaultsAndUnknownKeysAreTolerated()
    {
        var config = Read(Variant("llama_mha", c =>
        {
            foreach (string key in new[] { "head_dim", "num_key_value_heads", "mlp_bias", "rope_scaling", "dtype", "pretraining_tp" }) c.Remove(key);
            c["_name_or_path"] = "meta-llama/whatever";
            c["some_future_flag"] = new JsonObject { ["x"] = 1 };
            c["max_window_layers"] = 28;
            c["head_dim"] = null; // null: hidden_size / heads
        }));
        Assert.Equal(32 / 4, config.HeadDim);
        Assert.Equal(config.NumAttentionHeads, config.NumKeyValueHeads);
        Assert.False(config.MlpBias);
        Assert.Null(config.DType);
        Assert.Equal(1, config.PretrainingTp);

        var bare = HuggingFaceConfigReader.Parse("{\"model_type\": \"diffllama\"}"u8.ToArray(), "bare.json");
        Assert.Equal((2048, 8192, 16, 32, 32, 64), (bare.HiddenSize, bare.IntermediateSize, bare.NumHiddenLayers, bare.NumAttentionHeads, bare.NumKeyValueHeads, bare.HeadDim));
        Assert.Equal((1e-5, 10000.0, 32000, 2048, 0.1), (bare.RmsNormEps, bare.RopeTheta, bare.VocabSize, bare.MaxPositionEmbeddings, bare.LambdaStdDev!.Value));
        Assert.Equal(1, bare.BosTokenId);
        Assert.Equal(new[] { 2 }, bare.EosTokenIds);
        Assert.False(bare.TieWordEmbeddings);
        var bareLlama = HuggingFaceConfigReader.Parse("{\"model_type\": \"llama\"}"u8.ToArray(), "bare.json");
        Assert.Equal((4096, 11008, 32, 1e-6), (bareLlama.HiddenSize, bareLlama.IntermediateSize, bareLlama.NumHiddenLayers, bareLlama.RmsNormEps));
        Assert.False(bareLlama.TieWordEmbeddings);

        var ids = Read(Variant("llama_mha", c =>
        {
            c["eos_token_id"] = new JsonArray(128001, 128008, 128009);
            c["bos_token_id"] = null;
            c["pad_token_id"] = 0;
        }));
        Assert.Equal(new[] { 128001, 128008, 128009 }, ids.EosTokenIds);
        Assert.True(ids.EosTokenIdIsList);
        Assert.Null(ids.BosTokenId);
        Assert.Equal(0, ids.PadTokenId);
    }

    internal static JsonObject Llama3Json(bool legacyType)
    {
        var o = new JsonObject { ["factor"] = 32.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 8192 };
        o[legacyType ? "type" : "rope_type"] = "llama3";
        return o;
    }

    private static HuggingFaceConfig Read(string path) => HuggingFaceConfigReader.Read(path);

    private string Variant(string name, Action<JsonObject> change) => WriteVariant(temp, name, change);

    /// <summary>The case's config.json changed by <paramref name="change"/>, written to a new file of <paramref name="temp"/>.</summary>
    internal static string WriteVariant(TempDirectory temp, string name, Action<JsonObject> change)
    {
        var config = JsonNode.Parse(File.ReadAllText(HuggingFaceFixtures.ConfigPath(name)))!.AsObject();
        change(config);
        string path = temp.File($"config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    private static RopeScaling Llama3(double factor, double low, double high, int original) => new()
    {
        Kind = RopeScalingKind.Llama3, Factor = factor, LowFreqFactor = low, HighFreqFactor = high, OriginalMaxPositionEmbeddings = original,
    };
}

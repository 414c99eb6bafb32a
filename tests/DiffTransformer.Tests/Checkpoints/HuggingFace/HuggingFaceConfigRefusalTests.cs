using System.Text.Json.Nodes;

namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>Every config the library cannot compute exactly is refused, naming the file, the field and its value.</summary>
public sealed class HuggingFaceConfigRefusalTests : IDisposable
{
    private readonly TempDirectory temp = new();

    public void Dispose() => temp.Dispose();

    private static JsonNode J(string json) => JsonNode.Parse(json)!;

    private static readonly Dictionary<string, (string Case, Action<JsonObject> Change, string Field, string Value)> Refusals = new()
    {
        ["another model_type"] = ("llama_mha", c => c["model_type"] = "mistral", "model_type", "\"mistral\""),
        ["no model_type"] = ("llama_mha", c => c.Remove("model_type"), "model_type", "(absent)"),
        ["another architecture"] = ("llama_mha", c => c["architectures"] = J("[\"LlamaForSequenceClassification\"]"), "architectures", "LlamaForSequenceClassification"),
        ["llama class on diffllama"] = ("diffllama_mha", c => c["architectures"] = J("[\"LlamaForCausalLM\"]"), "architectures", "LlamaForCausalLM"),
        ["gelu"] = ("llama_mha", c => c["hidden_act"] = "gelu", "hidden_act", "\"gelu\""),
        ["yarn"] = ("llama_mha", c => c["rope_scaling"] = J("{\"rope_type\": \"yarn\", \"factor\": 4.0}"), "rope_scaling.rope_type", "\"yarn\""),
        ["legacy dynamic"] = ("llama_mha", c => c["rope_scaling"] = J("{\"type\": \"dynamic\", \"factor\": 2.0}"), "rope_scaling.type", "\"dynamic\""),
        ["longrope"] = ("diffllama_mha", c => c["rope_scaling"] = J("{\"rope_type\": \"longrope\", \"short_factor\": [1.0], \"long_factor\": [2.0]}"), "rope_scaling.rope_type", "\"longrope\""),
        ["5.x yarn"] = ("llama_mha", c =>
        {
            c.Remove("rope_theta");
            c.Remove("rope_scaling");
            c["rope_parameters"] = J("{\"rope_type\": \"yarn\", \"rope_theta\": 10000.0, \"factor\": 2.0}");
        }, "rope_parameters.rope_type", "\"yarn\""),
        ["theta styles disagree"] = ("llama_mha", c => c["rope_parameters"] = J("{\"rope_type\": \"default\", \"rope_theta\": 500000.0}"), "rope_parameters.rope_theta", "500000.0"),
        ["scaling styles disagree"] = ("llama_mha", c =>
        {
            c["rope_scaling"] = J("{\"rope_type\": \"linear\", \"factor\": 2.0}");
            c["rope_parameters"] = J("{\"rope_type\": \"linear\", \"factor\": 3.0, \"rope_theta\": 10000.0}");
        }, "rope_scaling", "\"factor\": 2.0"),
        ["null scaling against 5.x llama3"] = ("llama_mha", c =>
        {
            var p = HuggingFaceConfigTests.Llama3Json(legacyType: false);
            p["rope_theta"] = 10000.0;
            c["rope_parameters"] = p;
        }, "rope_scaling", "null"),
        ["llama3 without original length"] = ("llama_mha", c => c["rope_scaling"] = J("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}"), "rope_scaling.original_max_position_embeddings", "(absent)"),
        ["llama3 high <= low"] = ("llama_mha", c => c["rope_scaling"] = J("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 64}"), "rope_scaling.high_freq_factor", "4.0"),
        ["linear without factor"] = ("llama_mha", c => c["rope_scaling"] = J("{\"rope_type\": \"linear\"}"), "rope_scaling.factor", "(absent)"),
        ["negative factor"] = ("llama_mha", c => c["rope_scaling"] = J("{\"rope_type\": \"linear\", \"factor\": -2.0}"), "rope_scaling.factor", "-2.0"),
        ["scaling without type"] = ("llama_mha", c => c["rope_scaling"] = J("{\"factor\": 2.0}"), "rope_scaling.rope_type", "(absent)"),
        ["type and rope_type disagree"] = ("llama_mha", c => c["rope_scaling"] = J("{\"rope_type\": \"linear\", \"type\": \"dynamic\", \"factor\": 2.0}"), "rope_scaling.type", "\"dynamic\""),
        ["partial rotary"] = ("llama_mha", c => c["partial_rotary_factor"] = J("0.5"), "partial_rotary_factor", "0.5"),
        ["partial rotary in rope_parameters"] = ("llama_mha", c => c["rope_parameters"] = J("{\"rope_theta\": 10000.0, \"partial_rotary_factor\": 0.25}"), "rope_parameters.partial_rotary_factor", "0.25"),
        ["rope per layer type"] = ("llama_mha", c => c["rope_parameters"] = J("{\"full_attention\": {\"rope_theta\": 10000.0}}"), "rope_parameters.full_attention", "rope_theta"),
        ["sliding window"] = ("llama_mha", c => c["sliding_window"] = J("4096"), "sliding_window", "4096"),
        ["use sliding window"] = ("diffllama_mha", c => c["use_sliding_window"] = true, "use_sliding_window", "true"),
        ["sliding layer types"] = ("llama_mha", c => c["layer_types"] = J("[\"full_attention\", \"sliding_attention\"]"), "layer_types", "sliding_attention"),
        ["quantized"] = ("llama_mha", c => c["quantization_config"] = J("{\"quant_method\": \"gptq\", \"bits\": 4}"), "quantization_config", "gptq"),
        ["mlp bias on diffllama"] = ("diffllama_mha", c => c["mlp_bias"] = true, "mlp_bias", "true"),
        ["dtype keys disagree"] = ("llama_gqa_bias", c => c["dtype"] = "float16", "dtype", "\"float16\""),
        ["quantized dtype"] = ("llama_mha", c => c["dtype"] = "float8_e4m3fn", "dtype", "\"float8_e4m3fn\""),
        ["kv heads do not divide heads"] = ("llama_mha", c => c["num_key_value_heads"] = 3, "num_key_value_heads", "3"),
        ["odd diffllama heads"] = ("diffllama_mha", c =>
        {
            c["num_attention_heads"] = 3;
            c["num_key_value_heads"] = 3;
        }, "num_attention_heads", "3"),
        ["odd head_dim"] = ("llama_mha", c => c["head_dim"] = 7, "head_dim", "7"),
        ["zero hidden size"] = ("llama_mha", c => c["hidden_size"] = 0, "hidden_size", "0"),
        ["string size"] = ("llama_mha", c => c["hidden_size"] = "32", "hidden_size", "\"32\""),
        ["fractional vocab"] = ("llama_mha", c => c["vocab_size"] = J("95.5"), "vocab_size", "95.5"),
        ["dropout of 1.5"] = ("llama_mha", c => c["attention_dropout"] = J("1.5"), "attention_dropout", "1.5"),
        ["string eos"] = ("llama_mha", c => c["eos_token_id"] = "2", "eos_token_id", "\"2\""),
        ["eos list with a string"] = ("llama_mha", c => c["eos_token_id"] = J("[2, \"x\"]"), "eos_token_id", "\"x\""),
        ["boolean as number"] = ("llama_mha", c => c["tie_word_embeddings"] = 1, "tie_word_embeddings", "1"),
        ["zero eps"] = ("llama_mha", c => c["rms_norm_eps"] = J("0.0"), "rms_norm_eps", "0.0"),
    };

    public static TheoryData<string> RefusalNames() => new(Refusals.Keys);

    [Theory]
    [MemberData(nameof(RefusalNames))]
    public void RefusedConfigsNameFileFieldAndValue(string refusal)
    {
        var (name, change, field, value) = Refusals[refusal];
        string path = HuggingFaceConfigTests.WriteVariant(temp, name, change);
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceConfigReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{field}'", e.Message);
        Assert.Contains(value, e.Message);
    }

    [Fact]
    public void DuplicateKeysAndBrokenJsonAreRefused()
    {
        string path = temp.File("dup.json");
        File.WriteAllText(path, File.ReadAllText(HuggingFaceFixtures.ConfigPath("llama_mha")).Replace("\"vocab_size\": 96", "\"vocab_size\": 96, \"vocab_size\": 97"));
        var e = Assert.Throws<InvalidDataException>(() => HuggingFaceConfigReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'vocab_size' is given twice", e.Message);

        File.WriteAllText(path, "{\"model_type\": \"llama\",");
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceConfigReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not valid JSON", e.Message);

        File.WriteAllText(path, "[1, 2]");
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceConfigReader.Read(path));
        Assert.Contains("JSON object", e.Message);

        File.WriteAllText(path, "{\"eos_token_id\": [2, 3.5]}");
        e = Assert.Throws<InvalidDataException>(() => HuggingFaceGenerationConfig.Read(path));
        Assert.Contains("'eos_token_id'", e.Message);
    }

    [Fact]
    public void FieldsThatDoNotChangeEvaluationMathAreAccepted()
    {
        // attention_dropout is training only; pretraining_tp splits the same matmuls; explicit defaults are fine.
        string path = HuggingFaceConfigTests.WriteVariant(temp, "llama_mha", c =>
        {
            c["attention_dropout"] = J("0.1");
            c["pretraining_tp"] = 4;
            c["sliding_window"] = null;
            c["use_sliding_window"] = false;
            c["layer_types"] = J("[\"full_attention\", \"full_attention\"]");
            c["partial_rotary_factor"] = J("1.0");
            c["rope_scaling"] = J("{\"rope_type\": \"default\"}");
            c["quantization_config"] = null;
        });
        var config = HuggingFaceConfigReader.Read(path);
        Assert.Equal(0.1, config.AttentionDropout);
        Assert.Equal(4, config.PretrainingTp);
        Assert.Null(config.RopeScaling);
    }
}

using System.Text.Json;

namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>The golden Hugging Face directories (fixtures/golden-hf, copied from shared/golden-hf) and copies of them to damage.</summary>
internal static class HuggingFaceFixtures
{
    public static readonly string[] Cases = { "diffllama_mha", "diffllama_gqa_tied_sharded", "llama_mha", "llama_gqa_bias", "llama_headdim_bf16" };

    public static string Directory(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "golden-hf", name);

    public static string ConfigPath(string name) => Path.Combine(Directory(name), "config.json");

    /// <summary>Copies the model files of case <paramref name="name"/> (not golden.safetensors) into <paramref name="target"/>.</summary>
    public static string CopyTo(string name, string target)
    {
        System.IO.Directory.CreateDirectory(target);
        foreach (string file in System.IO.Directory.GetFiles(Directory(name)))
        {
            string fileName = Path.GetFileName(file);
            if (fileName is "golden.safetensors" or "tokenizer.model" or "tokenizer_golden.json") continue;
            File.Copy(file, Path.Combine(target, fileName));
        }
        return target;
    }

    /// <summary>The case's config.json as a JSON document (read independently of the library).</summary>
    public static JsonDocument ConfigJson(string name) => JsonDocument.Parse(File.ReadAllBytes(ConfigPath(name)));

    /// <summary>
    /// The state-dict names and shapes of the case, in state-dict order, derived from its config.json by the README's
    /// layout rules (independently of the library's reader).
    /// </summary>
    public static List<(string Name, long[] Shape)> ExpectedTensors(string name)
    {
        using var doc = ConfigJson(name);
        var c = doc.RootElement;
        int Int(string key) => c.GetProperty(key).GetInt32();
        bool Bool(string key) => c.TryGetProperty(key, out var v) && v.GetBoolean();
        bool diff = c.GetProperty("model_type").GetString() == "diffllama";
        long hidden = Int("hidden_size"), inter = Int("intermediate_size"), heads = Int("num_attention_heads");
        long kv = Int("num_key_value_heads"), headDim = Int("head_dim"), vocab = Int("vocab_size");
        bool attnBias = Bool("attention_bias"), mlpBias = Bool("mlp_bias");
        var result = new List<(string, long[])> { ("model.embed_tokens.weight", new[] { vocab, hidden }) };
        for (int i = 0; i < Int("num_hidden_layers"); i++)
        {
            string p = $"model.layers.{i}.";
            if (diff)
                foreach (string lambda in new[] { "lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2" })
                    result.Add((p + "self_attn." + lambda, new[] { headDim }));
            foreach (var (proj, outDim, inDim) in new[] { ("q", heads * headDim, hidden), ("k", kv * headDim, hidden), ("v", kv * headDim, hidden), ("o", hidden, heads * headDim) })
            {
                result.Add(($"{p}self_attn.{proj}_proj.weight", new[] { outDim, inDim }));
                if (attnBias) result.Add(($"{p}self_attn.{proj}_proj.bias", new[] { outDim }));
            }
            foreach (var (proj, outDim, inDim) in new[] { ("gate", inter, hidden), ("up", inter, hidden), ("down", hidden, inter) })
            {
                result.Add(($"{p}mlp.{proj}_proj.weight", new[] { outDim, inDim }));
                if (mlpBias) result.Add(($"{p}mlp.{proj}_proj.bias", new[] { outDim }));
            }
            result.Add((p + "input_layernorm.weight", new[] { hidden }));
            result.Add((p + "post_attention_layernorm.weight", new[] { hidden }));
        }
        result.Add(("model.norm.weight", new[] { hidden }));
        if (!Bool("tie_word_embeddings")) result.Add(("lm_head.weight", new[] { vocab, hidden }));
        return result;
    }
}

namespace DiffTransformer;

/// <summary>
/// The translation between a Hugging Face <c>LlamaForCausalLM</c> / <c>DiffLlamaForCausalLM</c> and this library's
/// <see cref="DiffTransformerLM"/>: the configuration both ways, and the tensor names and layouts as a table.
/// <list type="bullet">
/// <item>Llama is the softmax model: <c>num_attention_heads</c> heads of <c>head_dim</c>.</item>
/// <item>DiffLlama is V1 with <c>H / 2</c> differential heads of sub-head size <c>head_dim</c> and <c>K / 2</c> key/value
/// heads of <c>2 * head_dim</c> (<c>H</c>, <c>K</c>: its query and key/value heads, both even); its per-head norm uses
/// <c>rms_norm_eps</c> and has no weight; <c>lambda_init</c> is the same function of the 0-based layer index.</item>
/// </list>
/// </summary>
internal static class HuggingFaceModelMap
{
    /// <summary>
    /// The <see cref="DiffTransformerConfig"/> of a checkpoint's config (read from <paramref name="path"/>). Throws
    /// <see cref="InvalidDataException"/> naming the file, the field and the value for a model this library cannot express.
    /// </summary>
    public static DiffTransformerConfig ToConfig(HuggingFaceConfig hf, string path, AttentionKernel kernel)
    {
        bool diff = hf.ModelType == HuggingFaceModelType.DiffLlama;
        if (diff && hf.NumKeyValueHeads % 2 != 0)
            throw new InvalidDataException(
                $"'{path}': 'num_key_value_heads' = {hf.NumKeyValueHeads} is not supported for diffllama: the key/value heads pair up " +
                "(head g with g + K/2) and must be even.");
        var config = new DiffTransformerConfig
        {
            Attention = diff ? AttentionKind.Differential : AttentionKind.Softmax,
            VocabSize = hf.VocabSize,
            EmbedDim = hf.HiddenSize,
            NumLayers = hf.NumHiddenLayers,
            NumHeads = diff ? hf.NumAttentionHeads / 2 : hf.NumAttentionHeads,
            NumKvHeads = diff ? hf.NumKeyValueHeads / 2 : hf.NumKeyValueHeads,
            HeadDim = hf.HeadDim,
            FfnHiddenDim = hf.IntermediateSize,
            MaxSequenceLength = hf.MaxPositionEmbeddings,
            RopeTheta = hf.RopeTheta,
            RopeScaling = hf.RopeScaling,
            NormEps = hf.RmsNormEps,
            HeadNormEps = diff ? hf.RmsNormEps : 1e-5,
            TieEmbeddings = hf.TieWordEmbeddings,
            AttentionBias = hf.AttentionBias,
            FfnBias = hf.MlpBias,
            Kernel = kernel,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': the model it describes cannot be built here: {e.Message}", e);
        }
        return config;
    }

    /// <summary>
    /// The Hugging Face config of <paramref name="config"/> stored in <paramref name="dtype"/>, with the stop tokens as
    /// <c>eos_token_id</c>. Throws <see cref="ArgumentException"/> naming <paramref name="parameterName"/> for a model that
    /// has no Hugging Face equivalent (V2, or a V1 whose norms DiffLlama cannot express), before anything is written.
    /// </summary>
    public static HuggingFaceConfig FromConfig(DiffTransformerConfig config, TorchSharp.torch.ScalarType dtype,
        IReadOnlyList<long> stopTokens, string parameterName)
    {
        bool diff = config.Attention == AttentionKind.Differential;
        string Refuse(string why) => throw new ArgumentException($"{parameterName} has no Hugging Face equivalent: {why}", parameterName);
        if (config.Attention == AttentionKind.DifferentialV2)
            Refuse("differential attention V2 exists in no transformers model (Llama is softmax, DiffLlama is V1).");
        if (diff && config.HeadNormEps != config.NormEps)
            Refuse($"DiffLlama uses rms_norm_eps for its per-head norm too, but this model has HeadNormEps {config.HeadNormEps} and NormEps {config.NormEps}.");
        if (diff && config.FfnBias)
            Refuse("DiffLlama's MLP has no biases, but this model has FfnBias = true.");
        int kv = config.NumKvHeads ?? config.NumHeads;
        return new HuggingFaceConfig
        {
            ModelType = diff ? HuggingFaceModelType.DiffLlama : HuggingFaceModelType.Llama,
            HiddenSize = config.EmbedDim,
            IntermediateSize = config.ResolvedFfnHiddenDim,
            NumHiddenLayers = config.NumLayers,
            NumAttentionHeads = diff ? 2 * config.NumHeads : config.NumHeads,
            NumKeyValueHeads = diff ? 2 * kv : kv,
            HeadDim = config.ResolvedHeadDim,
            RmsNormEps = config.NormEps,
            RopeTheta = config.RopeTheta,
            RopeScaling = config.RopeScaling,
            AttentionBias = config.AttentionBias,
            MlpBias = config.FfnBias,
            TieWordEmbeddings = config.TieEmbeddings,
            VocabSize = config.VocabSize,
            MaxPositionEmbeddings = config.MaxSequenceLength,
            EosTokenIds = stopTokens.Select(t => (int)t).ToArray(),
            EosTokenIdIsList = stopTokens.Count > 1,
            DType = dtype,
            PretrainingTp = diff ? null : 1,
            LambdaStdDev = diff ? 0.1 : null,
        };
    }

    /// <summary>Every tensor of the model, in the checkpoint's state-dict order (the order shards are filled in).</summary>
    public static IReadOnlyList<HuggingFaceTensor> Tensors(DiffTransformerConfig config)
    {
        bool diff = config.Attention == AttentionKind.Differential;
        int d = config.ResolvedHeadDim, kv = config.NumKvHeads ?? config.NumHeads;
        // Query and key/value heads of d rows as the checkpoint counts them (DiffLlama: twice this library's heads).
        int queryHeads = diff ? 2 * config.NumHeads : config.NumHeads, kvHeads = diff ? 2 * kv : kv;
        var query = new TensorLayout(queryHeads, d, InterleaveRotary: true, PairHalves: diff);
        var key = new TensorLayout(kvHeads, d, InterleaveRotary: true, PairHalves: diff);
        var value = diff ? new TensorLayout(kvHeads, d, InterleaveRotary: false, PairHalves: true) : null;
        string[] biases = config.AttentionBias ? new[] { "weight", "bias" } : new[] { "weight" };
        string[] ffnBiases = config.FfnBias ? new[] { "weight", "bias" } : new[] { "weight" };

        var tensors = new List<HuggingFaceTensor> { new("embed_tokens.weight", "model.embed_tokens.weight", null) };
        for (int i = 0; i < config.NumLayers; i++)
        {
            string ours = $"layers.{i}.", theirs = $"model.layers.{i}.";
            if (diff)
                foreach (string lambda in new[] { "lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2" })
                    tensors.Add(new($"{ours}attn.{lambda}", $"{theirs}self_attn.{lambda}", null));
            foreach (var (projection, ourName, layout) in new[] { ("q_proj", "q_proj", query), ("k_proj", "k_proj", key), ("v_proj", "v_proj", value), ("o_proj", "out_proj", null) })
                foreach (string part in biases)
                {
                    string? scale = diff && projection == "o_proj" && part == "weight" ? $"{ours}attn.subln.weight" : null;
                    tensors.Add(new($"{ours}attn.{ourName}.{part}", $"{theirs}self_attn.{projection}.{part}", layout, scale));
                }
            if (diff) tensors.Add(new($"{ours}attn.subln.weight", null, null));
            foreach (string projection in new[] { "gate_proj", "up_proj", "down_proj" })
                foreach (string part in ffnBiases)
                    tensors.Add(new($"{ours}ffn.{projection}.{part}", $"{theirs}mlp.{projection}.{part}", null));
            tensors.Add(new($"{ours}attn_norm.weight", $"{theirs}input_layernorm.weight", null));
            tensors.Add(new($"{ours}ffn_norm.weight", $"{theirs}post_attention_layernorm.weight", null));
        }
        tensors.Add(new("norm.weight", "model.norm.weight", null));
        if (!config.TieEmbeddings) tensors.Add(new("lm_head.weight", "lm_head.weight", null));
        return tensors;
    }
}

namespace RunPretrained;

/// <summary>Settings of one run of a pretrained model.</summary>
public sealed record RunOptions
{
    /// <summary>A Hugging Face model directory: config.json, safetensors weights, tokenizer.model or tokenizer.json.</summary>
    public string ModelDirectory { get; init; } = "";

    /// <summary>The text to continue.</summary>
    public string Prompt { get; init; } = "";

    /// <summary>Most tokens to generate; fewer when the model emits one of its stop tokens.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>"cpu" or "cuda".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>"float32", "bfloat16" or "float16": the dtype the weights are loaded in.</summary>
    public string DType { get; init; } = "float32";

    /// <summary>0 decodes greedily; above 0 samples from <c>softmax(logits / T)</c>.</summary>
    public double Temperature { get; init; }

    /// <summary>Seed of the sampling generator; null uses TorchSharp's global one.</summary>
    public long? Seed { get; init; }
}

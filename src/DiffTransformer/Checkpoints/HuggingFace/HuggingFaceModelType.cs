namespace DiffTransformer;

/// <summary>The <c>model_type</c> of a Hugging Face checkpoint that this library reads and writes.</summary>
internal enum HuggingFaceModelType
{
    /// <summary><c>llama</c> (<c>LlamaForCausalLM</c>): softmax attention.</summary>
    Llama,

    /// <summary><c>diffllama</c> (<c>DiffLlamaForCausalLM</c>): differential attention.</summary>
    DiffLlama,
}

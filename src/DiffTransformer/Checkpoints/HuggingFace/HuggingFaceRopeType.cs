namespace DiffTransformer;

/// <summary>The rotary scalings supported (<c>rope_scaling.rope_type</c>, legacy <c>type</c>).</summary>
internal enum HuggingFaceRopeType
{
    /// <summary><c>default</c>: <c>inv_freq[i] = rope_theta^(-2i/head_dim)</c>.</summary>
    Default,

    /// <summary><c>linear</c>: the default frequencies divided by <c>factor</c>.</summary>
    Linear,

    /// <summary><c>llama3</c>: long wavelengths divided by <c>factor</c>, short ones kept, a smooth blend between.</summary>
    Llama3,
}

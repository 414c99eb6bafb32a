namespace DiffTransformer;

/// <summary>How <see cref="RopeScaling"/> stretches the rotary frequencies for contexts longer than those trained on.</summary>
public enum RopeScalingKind
{
    /// <summary>Every frequency divided by <see cref="RopeScaling.Factor"/> (position interpolation; Hugging Face <c>linear</c>).</summary>
    Linear,

    /// <summary>
    /// Llama 3.1's rule (Hugging Face <c>llama3</c>): low frequencies divided by <see cref="RopeScaling.Factor"/>, high ones
    /// kept, the band between blended smoothly.
    /// </summary>
    Llama3,
}

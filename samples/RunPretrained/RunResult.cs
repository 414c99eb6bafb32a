using DiffTransformer;

namespace RunPretrained;

/// <summary>What one run loaded, generated and measured.</summary>
/// <param name="Description">The loaded model in words: kind, size, dtype, device.</param>
/// <param name="Tokenizer">The tokenizer's name, e.g. <c>diffllama_mha/tokenizer.model</c>.</param>
/// <param name="WeightFiles">The safetensors files the weights came from.</param>
/// <param name="WeightBytes">Their total size.</param>
/// <param name="LoadTime">How long <see cref="HuggingFaceCheckpoint.Load"/> took.</param>
/// <param name="PromptIds">The encoded prompt, BOS included when the tokenizer config asks for it.</param>
/// <param name="Generated">The new token ids, ending with the stop token when <see cref="FinishReason"/> is <see cref="FinishReason.StopToken"/>.</param>
/// <param name="FinishReason">Why generation stopped.</param>
/// <param name="Continuation">The decoded continuation as printed (the stop token gives no text).</param>
/// <param name="FirstTokenTime">From the start of generation to the first new token (the prompt's forward pass included).</param>
/// <param name="GenerationTime">From the start of generation to the last new token.</param>
public sealed record RunResult(
    string Description,
    string Tokenizer,
    IReadOnlyList<string> WeightFiles,
    long WeightBytes,
    TimeSpan LoadTime,
    IReadOnlyList<long> PromptIds,
    IReadOnlyList<long> Generated,
    FinishReason FinishReason,
    string Continuation,
    TimeSpan FirstTokenTime,
    TimeSpan GenerationTime)
{
    /// <summary>New tokens per second of generation, prompt processing included.</summary>
    public double TokensPerSecond => Generated.Count / Math.Max(GenerationTime.TotalSeconds, 1e-9);
}

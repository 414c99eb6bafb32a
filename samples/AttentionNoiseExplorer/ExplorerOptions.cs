namespace AttentionNoiseExplorer;

/// <summary>Settings of one exploration.</summary>
public sealed record ExplorerOptions
{
    /// <summary>A model checkpoint directory (config.json + model.safetensors), e.g. TrainLanguageModel's.</summary>
    public string CheckpointDirectory { get; init; } = "";

    /// <summary>The text whose attention is drawn.</summary>
    public string Prompt { get; init; } = "The small cat sleeps in the garden.";

    /// <summary>"byte" or "cl100k"; null reads the checkpoint's "tokenizer" metadata.</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Only this layer (0-based); null draws every layer.</summary>
    public int? Layer { get; init; }

    /// <summary>Where the PNG files go.</summary>
    public string OutputDirectory { get; init; } = "attention-maps";
}

namespace DiffTransformer;

/// <summary>
/// The token ids of an optional <c>generation_config.json</c>: <c>bos_token_id</c>, <c>eos_token_id</c> (one id or a
/// list; the stop tokens) and <c>pad_token_id</c>. Every other key (sampling defaults, <c>transformers_version</c> ...)
/// is tolerated and ignored: none changes the model's computation.
/// </summary>
/// <param name="BosTokenId">Beginning-of-sequence id, or null.</param>
/// <param name="EosTokenIds">End-of-sequence ids (empty when none).</param>
/// <param name="EosTokenIdIsList">True when <c>eos_token_id</c> was, and is written as, a list.</param>
/// <param name="PadTokenId">Padding id, or null.</param>
internal sealed record HuggingFaceGenerationConfig(int? BosTokenId, IReadOnlyList<int> EosTokenIds, bool EosTokenIdIsList, int? PadTokenId)
{
    /// <summary>The file name transformers uses.</summary>
    public const string FileName = "generation_config.json";

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">Not valid JSON, or an id that is not an integer (or list of them).</exception>
    public static HuggingFaceGenerationConfig Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses the file contents <paramref name="utf8"/>, naming <paramref name="path"/> in errors.</summary>
    public static HuggingFaceGenerationConfig Parse(byte[] utf8, string path)
    {
        using var document = StrictJson.Parse(utf8, why => new InvalidDataException($"'{path}' is {why}."));
        var f = new HuggingFaceJsonFields(document.RootElement, path);
        var eos = f.IntOrList("eos_token_id");
        return new HuggingFaceGenerationConfig(f.NullableInt("bos_token_id"), eos?.Ids ?? Array.Empty<int>(), eos?.IsList ?? false,
            f.NullableInt("pad_token_id"));
    }

    /// <summary>Reads <c>generation_config.json</c> in <paramref name="directory"/>, or returns null when there is none.</summary>
    public static HuggingFaceGenerationConfig? ReadOptional(string directory)
    {
        string path = Path.Combine(directory, FileName);
        return File.Exists(path) ? Read(path) : null;
    }

    /// <summary>The file as transformers writes it from a model config: <c>_from_model_config</c> and the ids that are set.</summary>
    public byte[] Serialize() => PythonJson.Document(w =>
    {
        w.WriteStartObject();
        w.WriteBoolean("_from_model_config", true);
        if (BosTokenId is { } bos) w.WriteNumber("bos_token_id", bos);
        if (EosTokenIds.Count > 0)
        {
            w.WritePropertyName("eos_token_id");
            HuggingFaceConfigWriter.WriteEos(w, EosTokenIds, EosTokenIdIsList);
        }
        if (PadTokenId is { } pad) w.WriteNumber("pad_token_id", pad);
        w.WriteEndObject();
    });

    /// <summary>The ids of <paramref name="config"/>, as transformers derives a generation config from a model config.</summary>
    public static HuggingFaceGenerationConfig From(HuggingFaceConfig config) =>
        new(config.BosTokenId, config.EosTokenIds, config.EosTokenIdIsList, config.PadTokenId);

    /// <inheritdoc />
    public bool Equals(HuggingFaceGenerationConfig? other) =>
        other is not null && BosTokenId == other.BosTokenId && EosTokenIds.SequenceEqual(other.EosTokenIds)
        && EosTokenIdIsList == other.EosTokenIdIsList && PadTokenId == other.PadTokenId;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(BosTokenId, EosTokenIds.Count, PadTokenId);
}

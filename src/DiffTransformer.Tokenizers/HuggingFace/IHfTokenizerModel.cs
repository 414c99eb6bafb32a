namespace DiffTransformer;

/// <summary>The model behind a <see cref="HuggingFaceTokenizer"/>: the part read from tokenizer.model or tokenizer.json.</summary>
internal interface IHfTokenizerModel
{
    /// <summary>The file the model was read from, e.g. <c>tokenizer.model</c>.</summary>
    string FileName { get; }

    /// <summary>Ids lie in <c>[0, VocabSize)</c>.</summary>
    int VocabSize { get; }

    /// <summary>The ids of <paramref name="text"/>, without BOS or EOS.</summary>
    int[] Encode(string text);

    /// <summary>The text of <paramref name="ids"/>, all of which satisfy <see cref="IsValid"/>.</summary>
    string Decode(int[] ids);

    /// <summary>Whether <paramref name="id"/> names a token.</summary>
    bool IsValid(int id);

    /// <summary>The id of the token whose text is <paramref name="token"/>, or null.</summary>
    int? IdOf(string token);

    /// <summary>The BOS id the model file itself names, or null (used when the JSON files name none).</summary>
    int? DefaultBos { get; }

    /// <summary>The EOS id the model file itself names, or null.</summary>
    int? DefaultEos { get; }

    /// <summary>Whether the model file's own convention prepends BOS (when tokenizer_config.json does not say).</summary>
    bool DefaultAddsBos { get; }

    /// <summary>Whether the model file's own convention appends EOS (when tokenizer_config.json does not say).</summary>
    bool DefaultAddsEos { get; }
}

using Microsoft.ML.Tokenizers;

namespace DiffTransformer;

/// <summary>
/// A SentencePiece <c>tokenizer.model</c> through Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/>; ids
/// are those of SentencePiece's own <c>encode</c> (text such as <c>&lt;s&gt;</c> is ordinary text, as there).
/// </summary>
internal sealed class SentencePieceModel : IHfTokenizerModel
{
    private readonly SentencePieceTokenizer tokenizer;
    private readonly IReadOnlyDictionary<string, int> vocabulary;

    private SentencePieceModel(SentencePieceTokenizer tokenizer, string fileName)
    {
        this.tokenizer = tokenizer;
        FileName = fileName;
        vocabulary = tokenizer.Vocabulary;
        VocabSize = vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1;
        // Microsoft.ML.Tokenizers reports id 1 for a model trained without BOS (bos_id -1); trust an id only when the
        // model's piece at that id is the BOS (EOS) piece.
        DefaultBos = IdOf(tokenizer.BeginningOfSentenceToken) == tokenizer.BeginningOfSentenceId ? tokenizer.BeginningOfSentenceId : null;
        DefaultEos = IdOf(tokenizer.EndOfSentenceToken) == tokenizer.EndOfSentenceId ? tokenizer.EndOfSentenceId : null;
    }

    /// <summary>Reads the SentencePiece model at <paramref name="path"/>; a file that is not one throws <see cref="InvalidDataException"/>.</summary>
    public static SentencePieceModel Load(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        var (modelType, pieces) = SentencePieceProto.Inspect(data, path);
        // Microsoft.ML.Tokenizers 2.0.1's Unigram gives other ids than SentencePiece for byte-fallback text (tested).
        if (modelType != SentencePieceProto.Bpe)
            throw HfJson.Bad(path, $"trainer_spec.model_type must be BPE ({SentencePieceProto.Bpe}), the SentencePiece kind whose ids Microsoft.ML.Tokenizers reproduces; it is {(modelType == SentencePieceProto.Unigram ? "UNIGRAM (1)" : modelType.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        if (pieces == 0) throw HfJson.Bad(path, "the model must hold at least one piece; it holds none");
        SentencePieceTokenizer tokenizer;
        try
        {
            using var stream = new MemoryStream(data, writable: false);
            tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e)
        {
            throw HfJson.Bad(path, $"the file must be a SentencePiece model that Microsoft.ML.Tokenizers reads; it is not ({e.GetType().Name}: {e.Message})");
        }
        var model = new SentencePieceModel(tokenizer, Path.GetFileName(path));
        if (model.vocabulary.Count != pieces || model.VocabSize != pieces)
            throw HfJson.Bad(path, $"the pieces must have the distinct ids 0 to {pieces - 1}; Microsoft.ML.Tokenizers reads {model.vocabulary.Count} pieces up to id {model.VocabSize - 1}");
        CheckEncodedIds(tokenizer, model.vocabulary, model.VocabSize, path);
        return model;
    }

    /// <summary>
    /// The ids Microsoft.ML.Tokenizers encodes without looking them up must name pieces: the unknown id, and with byte
    /// fallback the id of &lt;0x00&gt; plus the byte. A model whose byte pieces were missing or out of order loaded, then
    /// encoded ids past the vocabulary (found by fuzzing: fuzz/findings/tokenizer-model/byte-piece-renamed.model).
    /// </summary>
    private static void CheckEncodedIds(SentencePieceTokenizer tokenizer, IReadOnlyDictionary<string, int> vocabulary, int vocabSize, string path)
    {
        if (tokenizer.UnknownId < 0 || tokenizer.UnknownId >= vocabSize)
            throw HfJson.Bad(path, $"trainer_spec.unk_id must name a piece (in [0, {vocabSize})); it is {tokenizer.UnknownId}");
        if (!tokenizer.ByteFallback) return;
        bool hasFirst = vocabulary.TryGetValue("<0x00>", out int first);
        for (int b = 0; b < 256; b++)
        {
            string piece = $"<0x{b:X2}>";
            if (!hasFirst || !vocabulary.TryGetValue(piece, out int id) || id != first + b)
                throw HfJson.Bad(path, "with trainer_spec.byte_fallback the pieces <0x00> to <0xFF> must have consecutive ids (byte b encodes as the id " +
                    $"of <0x00> + b); {piece} has {(vocabulary.TryGetValue(piece, out int found) ? $"id {found}" : "no piece")}" +
                    (hasFirst ? $", <0x00> id {first}" : ""));
        }
    }

    public string FileName { get; }

    public int VocabSize { get; }

    public int? DefaultBos { get; }

    public int? DefaultEos { get; }

    // transformers' LlamaTokenizer: add_bos_token defaults to true, add_eos_token to false.
    public bool DefaultAddsBos => true;

    public bool DefaultAddsEos => false;

    public int[] Encode(string text)
        => tokenizer.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false).ToArray();

    // Like SentencePieceProcessor.decode: control pieces (BOS, EOS) give no text.
    public string Decode(int[] ids) => tokenizer.Decode(ids, considerSpecialTokens: false);

    public bool IsValid(int id) => id >= 0 && id < VocabSize;

    public int? IdOf(string token) => vocabulary.TryGetValue(token, out int id) ? id : null;
}

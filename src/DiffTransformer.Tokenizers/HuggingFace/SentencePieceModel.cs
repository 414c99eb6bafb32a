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
        return model;
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

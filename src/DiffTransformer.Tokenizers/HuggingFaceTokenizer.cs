namespace DiffTransformer;

/// <summary>
/// The tokenizer of a Hugging Face model directory, through Microsoft.ML.Tokenizers: a byte-level BPE
/// <c>tokenizer.json</c> (GPT-2, Llama 3 style; built with <c>BpeTokenizer</c> from the file's vocabulary and merges) or a
/// SentencePiece <c>tokenizer.model</c> (Llama 2 style; ids equal SentencePiece's own). BOS and EOS come from
/// <c>tokenizer_config.json</c> and <c>config.json</c>. <see cref="Encode"/> adds no BOS or EOS;
/// <see cref="EncodeWithSpecialTokens"/> adds them as the directory's configuration says.
/// </summary>
public sealed class HuggingFaceTokenizer : ITokenizer
{
    /// <summary>The byte-level BPE file this loader prefers.</summary>
    public const string TokenizerJsonFile = "tokenizer.json";

    /// <summary>The SentencePiece model file.</summary>
    public const string SentencePieceFile = "tokenizer.model";

    private readonly IHfTokenizerModel model;

    private HuggingFaceTokenizer(IHfTokenizerModel model, HfSpecialTokens special, string name)
    {
        this.model = model;
        Name = name;
        BosTokenId = special.BosTokenId;
        EosTokenIds = special.EosTokenIds;
        AddsBos = special.AddsBos;
        AddsEos = special.AddsEos;
    }

    /// <summary>
    /// Loads the tokenizer of the model directory <paramref name="directory"/>. <c>tokenizer.json</c> is read when it
    /// holds a byte-level BPE (as transformers' fast tokenizer prefers it); when it holds another kind (WordPiece,
    /// Unigram, SentencePiece-style BPE without a ByteLevel pre-tokenizer) <c>tokenizer.model</c> is read instead if
    /// present. A directory with neither file throws <see cref="FileNotFoundException"/>; a file that is malformed or
    /// of a kind not supported throws <see cref="InvalidDataException"/> naming the file, the rule and the value.
    /// </summary>
    public static HuggingFaceTokenizer Load(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string full = Path.GetFullPath(directory);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"directory must be an existing Hugging Face model directory; '{full}' does not exist.");
        string json = Path.Combine(full, TokenizerJsonFile);
        string sentencePiece = Path.Combine(full, SentencePieceFile);

        IHfTokenizerModel? model = null;
        if (File.Exists(json))
        {
            using var document = HfJson.Read(json);
            if (TokenizerJsonReader.UnsupportedKind(document.RootElement, json) is { } reason)
            {
                if (!File.Exists(sentencePiece))
                    throw HfJson.Bad(json, $"{reason} (and the directory has no {SentencePieceFile} to read instead)");
            }
            else
            {
                model = TokenizerJsonReader.Build(document.RootElement, json);
            }
        }
        else if (!File.Exists(sentencePiece))
        {
            throw new FileNotFoundException(
                $"The model directory '{full}' must hold {TokenizerJsonFile} (byte-level BPE) or {SentencePieceFile} (SentencePiece); it has neither.", json);
        }
        model ??= SentencePieceModel.Load(sentencePiece);
        var special = HfSpecialTokens.Read(full, model);
        return new HuggingFaceTokenizer(model, special, $"{Path.GetFileName(full)}/{model.FileName}");
    }

    /// <summary>The directory's name and the file read, e.g. <c>diffllama_mha/tokenizer.model</c>.</summary>
    public string Name { get; }

    /// <summary>The file the tokenizer was read from: <see cref="TokenizerJsonFile"/> or <see cref="SentencePieceFile"/>.</summary>
    public string SourceFile => model.FileName;

    /// <inheritdoc />
    public int VocabSize => model.VocabSize;

    /// <summary>The BOS id (tokenizer_config.json's <c>bos_token</c>, else config.json's <c>bos_token_id</c>, else the tokenizer file's), or null.</summary>
    public int? BosTokenId { get; }

    /// <summary>
    /// The EOS ids: tokenizer_config.json's <c>eos_token</c> first, then those of config.json's <c>eos_token_id</c> (an
    /// id or a list), else the tokenizer file's own; empty when none is known. Generation may stop at any of them.
    /// </summary>
    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Whether <see cref="EncodeWithSpecialTokens"/> prepends <see cref="BosTokenId"/> (<c>add_bos_token</c>; default true for tokenizer.model, the post-processor template for tokenizer.json).</summary>
    public bool AddsBos { get; }

    /// <summary>Whether <see cref="EncodeWithSpecialTokens"/> appends the first of <see cref="EosTokenIds"/> (<c>add_eos_token</c>; default false for tokenizer.model, the template for tokenizer.json).</summary>
    public bool AddsEos { get; }

    /// <summary>
    /// The ids of <paramref name="text"/> without BOS or EOS. tokenizer.model: SentencePiece's <c>encode</c>, where text
    /// such as <c>&lt;s&gt;</c> is ordinary text. tokenizer.json: text equal to an added token becomes that token.
    /// </summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return model.Encode(text);
    }

    /// <summary>The ids of <paramref name="text"/> with BOS prepended when <see cref="AddsBos"/> and EOS appended when <see cref="AddsEos"/>.</summary>
    public int[] EncodeWithSpecialTokens(string text)
    {
        int[] ids = Encode(text);
        var result = new List<int>(ids.Length + 2);
        if (AddsBos) result.Add(BosTokenId!.Value);
        result.AddRange(ids);
        if (AddsEos) result.Add(EosTokenIds[0]);
        return result.ToArray();
    }

    /// <summary>
    /// The text of <paramref name="ids"/>. tokenizer.model: as SentencePiece's <c>decode</c> (BOS and EOS give no text).
    /// tokenizer.json: added tokens give their text. Ids that name no token throw <see cref="ArgumentException"/>.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        for (int i = 0; i < ids.Length; i++)
            if (!model.IsValid(ids[i]))
                throw new ArgumentException($"ids must be token ids of {Name} (in [0, {VocabSize}), naming a token); ids[{i}] is {ids[i]}.", nameof(ids));
        return model.Decode(ids.ToArray());
    }
}

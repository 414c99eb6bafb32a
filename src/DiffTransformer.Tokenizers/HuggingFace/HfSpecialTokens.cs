using System.Text.Json;

namespace DiffTransformer;

/// <summary>
/// BOS and EOS of a Hugging Face model directory: <c>tokenizer_config.json</c> (<c>add_bos_token</c>,
/// <c>add_eos_token</c>, <c>bos_token</c>, <c>eos_token</c>, <c>added_tokens_decoder</c>), then <c>config.json</c>
/// (<c>bos_token_id</c>, <c>eos_token_id</c>), then the tokenizer file's own.
/// </summary>
internal sealed record HfSpecialTokens(int? BosTokenId, IReadOnlyList<int> EosTokenIds, bool AddsBos, bool AddsEos)
{
    public const string TokenizerConfigFile = "tokenizer_config.json";
    public const string ModelConfigFile = "config.json";

    /// <summary>Reads the files of <paramref name="directory"/> that exist; a rule they break throws <see cref="InvalidDataException"/>.</summary>
    public static HfSpecialTokens Read(string directory, IHfTokenizerModel model)
    {
        string tokenizerConfig = Path.Combine(directory, TokenizerConfigFile);
        string modelConfig = Path.Combine(directory, ModelConfigFile);
        bool? addBos = null, addEos = null;
        int? tokenizerBos = null, tokenizerEos = null;
        string? bosToken = null;
        if (File.Exists(tokenizerConfig))
        {
            using var document = HfJson.Read(tokenizerConfig);
            var root = document.RootElement;
            addBos = HfJson.Bool(root, "add_bos_token", "add_bos_token", tokenizerConfig);
            addEos = HfJson.Bool(root, "add_eos_token", "add_eos_token", tokenizerConfig);
            var decoder = ReadAddedTokensDecoder(root, tokenizerConfig);
            bosToken = HfJson.TokenContent(root, "bos_token", tokenizerConfig);
            tokenizerBos = Resolve(bosToken, "bos_token", decoder, model, tokenizerConfig);
            tokenizerEos = Resolve(HfJson.TokenContent(root, "eos_token", tokenizerConfig), "eos_token", decoder, model, tokenizerConfig);
        }

        int? configBos = null;
        var configEos = new List<int>();
        if (File.Exists(modelConfig))
        {
            using var document = HfJson.Read(modelConfig);
            var root = document.RootElement;
            if (HfJson.Member(root, "bos_token_id") is { } bos) configBos = Check(HfJson.Id(bos, "bos_token_id", modelConfig), "bos_token_id", model, modelConfig);
            if (HfJson.Member(root, "eos_token_id") is { } eos)
            {
                if (eos.ValueKind == JsonValueKind.Array)
                    configEos.AddRange(eos.EnumerateArray().Select((e, i) => Check(HfJson.Id(e, $"eos_token_id[{i}]", modelConfig), $"eos_token_id[{i}]", model, modelConfig)));
                else
                    configEos.Add(Check(HfJson.Id(eos, "eos_token_id", modelConfig), "eos_token_id", model, modelConfig));
            }
        }

        if (tokenizerBos is { } t && configBos is { } c && t != c)
            throw HfJson.Bad(modelConfig, $"bos_token_id must name the BOS of {TokenizerConfigFile} (bos_token \"{bosToken}\" = id {t}); it is {c}");
        int? bosId = tokenizerBos ?? configBos;
        var eosIds = new List<int>();
        if (tokenizerEos is { } te) eosIds.Add(te);
        foreach (int id in configEos)
            if (!eosIds.Contains(id)) eosIds.Add(id);

        // With no tokenizer_config.json setting, the model file's convention (LlamaTokenizer: BOS; tokenizer.json:
        // its post_processor template). A template's BOS must be the directory's BOS.
        bool addsBos = addBos ?? model.DefaultAddsBos;
        bool addsEos = addEos ?? model.DefaultAddsEos;
        if (addBos is null && model.DefaultAddsBos && bosId is { } b && model.DefaultBos is { } d && b != d)
            throw HfJson.Bad(Path.Combine(directory, model.FileName), $"the post_processor template must prepend the BOS (id {b}) or tokenizer_config.json must set add_bos_token; it prepends id {d}");
        bosId ??= model.DefaultBos;
        if (eosIds.Count == 0 && model.DefaultEos is { } modelEos) eosIds.Add(modelEos);
        if (addEos is null && model.DefaultAddsEos && model.DefaultEos is { } de && de != eosIds[0])
            throw HfJson.Bad(Path.Combine(directory, model.FileName), $"the post_processor template must append the EOS (id {eosIds[0]}) or tokenizer_config.json must set add_eos_token; it appends id {de}");

        if (addsBos && bosId is null)
            throw HfJson.Bad(tokenizerConfig, $"a BOS token must be known when BOS is prepended (add_bos_token true or its default); none is ({TokenizerConfigFile} has no bos_token, {ModelConfigFile} no bos_token_id, {model.FileName} none of its own)");
        if (addsEos && eosIds.Count == 0)
            throw HfJson.Bad(tokenizerConfig, $"an EOS token must be known when add_eos_token is true; none is ({TokenizerConfigFile} has no eos_token, {ModelConfigFile} no eos_token_id, {model.FileName} none of its own)");
        return new HfSpecialTokens(bosId, eosIds, addsBos, addsEos);
    }

    private static Dictionary<string, int> ReadAddedTokensDecoder(JsonElement root, string path)
    {
        var tokens = new Dictionary<string, int>(StringComparer.Ordinal);
        if (HfJson.Member(root, "added_tokens_decoder") is not { } decoder) return tokens;
        if (decoder.ValueKind != JsonValueKind.Object)
            throw HfJson.Bad(path, $"added_tokens_decoder must be an object of id → token; it is {HfJson.Describe(decoder)}");
        foreach (var entry in decoder.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                throw HfJson.Bad(path, $"added_tokens_decoder keys must be non-negative integer ids; \"{entry.Name}\" is not");
            string content = entry.Value.ValueKind == JsonValueKind.Object && HfJson.String(entry.Value, "content", $"added_tokens_decoder[\"{entry.Name}\"].content", path) is { } c
                ? c
                : throw HfJson.Bad(path, $"added_tokens_decoder[\"{entry.Name}\"] must be an object with a string \"content\"; it is {HfJson.Describe(entry.Value)}");
            tokens.TryAdd(content, id);
        }
        return tokens;
    }

    private static int? Resolve(string? token, string field, Dictionary<string, int> decoder, IHfTokenizerModel model, string path)
    {
        if (token is null) return null;
        int? id = decoder.TryGetValue(token, out int d) ? d : model.IdOf(token);
        if (id is null)
            throw HfJson.Bad(path, $"{field} must be a token of {model.FileName} or of added_tokens_decoder; \"{token}\" is neither");
        return Check(id.Value, $"{field} \"{token}\"", model, path);
    }

    private static int Check(int id, string field, IHfTokenizerModel model, string path)
        => model.IsValid(id)
            ? id
            : throw HfJson.Bad(path, $"{field} must be a token id of {model.FileName} (in [0, {model.VocabSize})); it is {id}");
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace DiffTransformer.Tests.Tokenizers;

/// <summary>A temporary Hugging Face model directory for tokenizer tests, deleted on dispose.</summary>
internal sealed class HfModelDirectory : IDisposable
{
    /// <summary>fixtures/golden-hf/diffllama_mha: tokenizer.model and the SentencePiece golden ids (copied from shared/golden-hf).</summary>
    public static readonly string DiffLlama = System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "golden-hf", "diffllama_mha");

    /// <summary>fixtures/golden-hf/sentencepiece_unigram: a SentencePiece Unigram model and its reference ids.</summary>
    public static readonly string Unigram = System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "golden-hf", "sentencepiece_unigram");

    public HfModelDirectory() => Path = Directory.CreateTempSubdirectory("hf-tokenizer-").FullName;

    public string Path { get; }

    /// <summary>A directory holding a copy of the diffllama_mha tokenizer.model.</summary>
    public static HfModelDirectory WithSentencePiece()
    {
        var directory = new HfModelDirectory();
        System.IO.File.Copy(System.IO.Path.Combine(DiffLlama, "tokenizer.model"), directory.File("tokenizer.model"));
        return directory;
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Write(string name, string text) => System.IO.File.WriteAllText(File(name), text);

    public void Write(string name, JsonNode json) => Write(name, json.ToJsonString());

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } // a leftover temp folder is harmless
    }

    /// <summary>The cases of a golden file: text, ids (no BOS/EOS), decoded text.</summary>
    public static IEnumerable<(string Text, int[] Ids, string Decoded, int[]? IdsWithBos)> Cases(string file)
    {
        using var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(file));
        foreach (var c in document.RootElement.GetProperty("cases").EnumerateArray().ToList())
        {
            int[]? withBos = c.TryGetProperty("ids_with_bos", out var b) ? b.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null;
            yield return (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!, withBos);
        }
    }
}

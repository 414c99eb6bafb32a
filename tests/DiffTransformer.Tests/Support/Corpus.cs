using System.Text;

namespace DiffTransformer.Tests;

/// <summary>A fixed, learnable byte corpus: sentences from a small grammar, drawn with a seeded generator.</summary>
internal static class Corpus
{
    private static readonly string[] Subjects = { "the cat", "a dog", "my friend", "the old man", "a small bird" };
    private static readonly string[] Verbs = { "sees", "likes", "finds", "follows", "hears" };
    private static readonly string[] Objects = { "the red ball", "a green tree", "the river", "a quiet house", "the moon" };

    public static string Text(int sentences = 400, int seed = 7)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (int i = 0; i < sentences; i++)
            text.Append(Subjects[random.Next(Subjects.Length)]).Append(' ')
                .Append(Verbs[random.Next(Verbs.Length)]).Append(' ')
                .Append(Objects[random.Next(Objects.Length)]).Append(". ");
        return text.ToString();
    }

    public static int[] Bytes(int sentences = 400, int seed = 7) => ByteTokenizer.Instance.Encode(Text(sentences, seed));

    public static DiffTransformerConfig ByteConfig(AttentionKind kind = AttentionKind.Differential) =>
        Build.TinyConfig(kind, vocab: 256);
}

using System.Text;

namespace TrainLanguageModel;

/// <summary>
/// A small English-like corpus made from templates and word lists, for when no --data file is given: enough structure
/// (spelling, agreement, recurring phrases) for a tiny model to learn visibly in a few hundred steps.
/// </summary>
public static class SyntheticCorpus
{
    private static readonly string[] Animals = { "cat", "dog", "fox", "owl", "horse", "rabbit", "bird", "mouse" };
    private static readonly string[] Places = { "garden", "forest", "river", "house", "field", "barn", "hill", "market" };
    private static readonly string[] Verbs = { "sleeps", "runs", "sings", "waits", "plays", "hides", "eats", "reads" };
    private static readonly string[] Adjectives = { "small", "quiet", "happy", "old", "brown", "clever", "tired", "young" };
    private static readonly string[] Times = { "in the morning", "at night", "after lunch", "every day", "in winter", "before dawn" };

    /// <summary>About <paramref name="characters"/> characters of text, the same for the same seed.</summary>
    public static string Generate(int characters, long seed)
    {
        if (characters < 1) throw new ArgumentOutOfRangeException(nameof(characters), characters, $"characters must be positive; got {characters}.");
        // Random takes 32 bits: a seed in int range is used as it is, a larger one folds its high half in.
        var random = new Random(seed is >= int.MinValue and <= int.MaxValue ? (int)seed : unchecked((int)seed ^ (int)(seed >> 32)));
        string Pick(string[] words) => words[random.Next(words.Length)];
        var text = new StringBuilder(characters + 200);
        while (text.Length < characters)
        {
            string sentence = random.Next(4) switch
            {
                0 => $"The {Pick(Adjectives)} {Pick(Animals)} {Pick(Verbs)} in the {Pick(Places)}.",
                1 => $"A {Pick(Animals)} {Pick(Verbs)} {Pick(Times)}.",
                2 => $"The {Pick(Animals)} and the {Pick(Animals)} go to the {Pick(Places)} {Pick(Times)}.",
                _ => $"In the {Pick(Places)}, the {Pick(Adjectives)} {Pick(Animals)} {Pick(Verbs)}.",
            };
            text.Append(sentence).Append(random.Next(5) == 0 ? "\n" : " ");
        }
        return text.ToString();
    }
}

namespace RunPretrained;

/// <summary>
/// Turns a stream of token ids into text to print as it comes. Each step decodes the prompt and the whole continuation
/// so far and returns only the new suffix, so that a character split over several tokens (UTF-8 byte pieces, byte-level
/// BPE) prints once it is complete, and tokenizers whose decoding depends on the neighbours (SentencePiece drops the
/// leading space of the first piece only) print what decoding the whole text gives. A trailing U+FFFD (an incomplete
/// UTF-8 sequence) is held back until the next token completes it or <see cref="Finish"/> is called.
/// </summary>
public sealed class StreamingDecoder
{
    private const char Replacement = '\uFFFD';
    private readonly Func<int[], string> decode;
    private readonly List<int> ids;
    private readonly string promptText;
    private int written;

    /// <summary>A decoder for the continuation of <paramref name="prompt"/>.</summary>
    /// <param name="decode">The tokenizer's decoding of a whole id sequence.</param>
    /// <param name="prompt">The prompt's ids, BOS included; its text is not returned.</param>
    public StreamingDecoder(Func<int[], string> decode, IReadOnlyList<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(decode);
        ArgumentNullException.ThrowIfNull(prompt);
        this.decode = decode;
        ids = new List<int>(prompt);
        promptText = decode(ids.ToArray());
    }

    /// <summary>The text of the continuation returned so far.</summary>
    public string Text { get; private set; } = "";

    /// <summary>Adds <paramref name="token"/>; returns the text to print now (often empty while a character is incomplete).</summary>
    public string Push(int token)
    {
        ids.Add(token);
        return Take(final: false);
    }

    /// <summary>Returns whatever was held back (an incomplete character prints as U+FFFD).</summary>
    public string Finish() => Take(final: true);

    private string Take(bool final)
    {
        string full = decode(ids.ToArray());
        string continuation = full.StartsWith(promptText, StringComparison.Ordinal) ? full[promptText.Length..] : full;
        int stable = continuation.Length;
        if (!final)
            while (stable > 0 && continuation[stable - 1] == Replacement) stable--;
        if (stable <= written) return "";
        string next = continuation[written..stable];
        written = stable;
        Text += next;
        return next;
    }
}

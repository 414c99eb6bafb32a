using System.Text;

namespace DiffTransformer;

/// <summary>
/// The UTF-8 bytes of the text as ids 0-255: no data files, no unknown tokens, any text round-trips. Decoding a
/// sequence that is not valid UTF-8 (a generated one, say) replaces the bad bytes with U+FFFD.
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    /// <summary>The shared instance.</summary>
    public static ByteTokenizer Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "bytes";

    /// <inheritdoc />
    public int VocabSize => 256;

    /// <inheritdoc />
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new byte[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] > 255)
                throw new ArgumentException($"ids must lie in [0, 256) for the byte tokenizer; ids[{i}] is {ids[i]}.", nameof(ids));
            bytes[i] = (byte)ids[i];
        }
        return Encoding.UTF8.GetString(bytes);
    }
}

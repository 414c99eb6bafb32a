using System.Text;

namespace DiffTransformer;

/// <summary>
/// GPT-2's byte-to-character table (<c>bytes_to_unicode</c>): printable bytes stand for themselves, the other 68 bytes
/// for the characters U+0100 onwards in byte order, so that a byte string is a string without spaces or controls.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly HashSet<char> Chars = [.. ByteToChar];

    /// <summary>The byte-level form of <paramref name="text"/>: its UTF-8 bytes, each as its alphabet character.</summary>
    public static string Map(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The character that stands for <paramref name="value"/>.</summary>
    public static char Of(byte value) => ByteToChar[value];

    /// <summary>Whether every character of <paramref name="token"/> stands for a byte.</summary>
    public static bool IsByteLevel(string token)
    {
        foreach (char c in token)
            if (!Chars.Contains(c)) return false;
        return true;
    }

    private static char[] Build()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }
}

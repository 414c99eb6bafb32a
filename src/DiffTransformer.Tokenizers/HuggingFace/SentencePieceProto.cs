namespace DiffTransformer;

/// <summary>
/// The two facts of a SentencePiece <c>ModelProto</c> the loader checks before handing the file to
/// Microsoft.ML.Tokenizers: the model type (<c>trainer_spec.model_type</c>, field 2.3; UNIGRAM when absent) and the
/// number of pieces (field 1). Read with a minimal protobuf walk; a malformed file throws <see cref="InvalidDataException"/>.
/// </summary>
internal static class SentencePieceProto
{
    public const int Unigram = 1;
    public const int Bpe = 2;

    /// <summary>The model type and piece count of the model <paramref name="data"/> read from <paramref name="path"/>.</summary>
    public static (int ModelType, int Pieces) Inspect(byte[] data, string path)
    {
        int modelType = Unigram, pieces = 0;
        int position = 0;
        while (position < data.Length)
        {
            var (field, wire) = Tag(data, ref position, path);
            if (wire == 2)
            {
                // Compared as read (a length over 2 GiB once threw OverflowException here: fuzz/findings/tokenizer-model).
                ulong declared = Varint(data, ref position, path);
                if (declared > (ulong)(data.Length - position)) throw Malformed(path, position);
                int length = (int)declared;
                if (field == 1) pieces++;
                if (field == 2) modelType = TrainerModelType(data.AsSpan(position, length).ToArray(), path) ?? modelType;
                position += length;
            }
            else
            {
                Skip(data, ref position, wire, path);
            }
        }
        return (modelType, pieces);
    }

    private static int? TrainerModelType(byte[] data, string path)
    {
        int? modelType = null;
        int position = 0;
        while (position < data.Length)
        {
            var (field, wire) = Tag(data, ref position, path);
            if (field == 3 && wire == 0) modelType = (int)Varint(data, ref position, path);
            else Skip(data, ref position, wire, path);
        }
        return modelType;
    }

    private static (int Field, int Wire) Tag(byte[] data, ref int position, string path)
    {
        ulong tag = Varint(data, ref position, path);
        if (tag >> 3 == 0) throw Malformed(path, position);
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    private static void Skip(byte[] data, ref int position, int wire, string path)
    {
        switch (wire)
        {
            case 0: Varint(data, ref position, path); break;
            case 1: position += 8; break;
            case 2:
                ulong length = Varint(data, ref position, path);
                if (length > (ulong)(data.Length - position)) throw Malformed(path, position);
                position += (int)length;
                break;
            case 5: position += 4; break;
            default: throw Malformed(path, position);
        }
        if (position > data.Length) throw Malformed(path, data.Length);
    }

    private static ulong Varint(byte[] data, ref int position, string path)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) throw Malformed(path, position);
            byte b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Malformed(path, position);
    }

    private static InvalidDataException Malformed(string path, int position)
        => HfJson.Bad(path, $"the file must be a SentencePiece model (a ModelProto protobuf); it is not (malformed at byte {position})");
}

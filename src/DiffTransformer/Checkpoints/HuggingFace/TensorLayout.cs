using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// How a projection's output rows in a Hugging Face checkpoint map onto this library's, as data: the rows are
/// permuted, never recomputed, so a load followed by a save gives the stored bits back.
/// <list type="bullet">
/// <item>Rotary: Llama rotates dimensions <c>i</c> and <c>i + d/2</c> of a head together (<c>rotate_half</c>); this
/// library rotates <c>2i</c> and <c>2i+1</c>. Query and key rows of each head are interleaved to match, which leaves
/// every dot product <c>q . k</c> unchanged.</item>
/// <item>DiffLlama head pairing: head <c>h</c> and head <c>h + n/2</c> give the two maps of a differential head; this
/// library keeps the two sub-heads adjacent (<c>2h</c>, <c>2h+1</c>, as the official unilm code). The same reordering of
/// heads serves queries (<c>n</c> = query heads), keys and values (<c>n</c> = key/value heads): a DiffLlama value pair
/// <c>cat(v[g], v[g + n/2])</c> is then one value head of <c>2d</c> here.</item>
/// </list>
/// </summary>
/// <param name="Heads">Heads of <see cref="HeadDim"/> rows in the projection's output.</param>
/// <param name="HeadDim">Rows per head.</param>
/// <param name="InterleaveRotary">Interleave the two rotary halves of each head (queries and keys).</param>
/// <param name="PairHalves">Reorder heads <c>0, n/2, 1, n/2 + 1, ...</c> (DiffLlama).</param>
internal sealed record TensorLayout(int Heads, int HeadDim, bool InterleaveRotary, bool PairHalves)
{
    /// <summary>For each row here, the row of the checkpoint it holds.</summary>
    public long[] RowsFromCheckpoint()
    {
        var rows = new long[(long)Heads * HeadDim];
        int half = HeadDim / 2;
        for (int head = 0; head < Heads; head++)
        {
            int source = PairHalves ? head / 2 + head % 2 * (Heads / 2) : head;
            for (int r = 0; r < HeadDim; r++)
            {
                int sourceRow = InterleaveRotary ? r / 2 + r % 2 * half : r;
                rows[(long)head * HeadDim + r] = (long)source * HeadDim + sourceRow;
            }
        }
        return rows;
    }

    /// <summary>For each row of the checkpoint, the row here that holds it (the inverse permutation).</summary>
    public long[] RowsToCheckpoint()
    {
        var from = RowsFromCheckpoint();
        var to = new long[from.Length];
        for (long i = 0; i < from.Length; i++) to[from[i]] = i;
        return to;
    }

    /// <summary>The checkpoint's tensor (rows first: a weight <c>[rows, in]</c> or a bias <c>[rows]</c>) in this library's order.</summary>
    public Tensor FromCheckpoint(Tensor stored) => Permute(stored, RowsFromCheckpoint());

    /// <summary>This library's tensor in the checkpoint's row order.</summary>
    public Tensor ToCheckpoint(Tensor ours) => Permute(ours, RowsToCheckpoint());

    private static Tensor Permute(Tensor t, long[] rows)
    {
        if (t.shape[0] != rows.Length)
            throw new InvalidOperationException($"A tensor of {t.shape[0]} rows cannot take a layout of {rows.Length} rows.");
        using var index = tensor(rows, ScalarType.Int64, t.device);
        return t.index_select(0, index);
    }
}

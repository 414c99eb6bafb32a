using static TorchSharp.torch;

namespace DiffTransformer.Checkpoints;

/// <summary>Tensor data read from a stream, for every reader of safetensors files (ours and Hugging Face directories).</summary>
internal static class TensorBytes
{
    /// <summary>The most bytes <see cref="Read"/> reads into one span.</summary>
    private const long MaxSpanBytes = 1L << 30;

    /// <summary>
    /// Fills the CPU, contiguous <paramref name="tensor"/> with the next bytes of <paramref name="stream"/>, read straight
    /// into the tensor's memory. (TorchSharp's <c>ReadBytesFromStream</c> reads through a new managed buffer of its
    /// chunk size on every call: a second copy of every byte, and a large-object-heap buffer per tensor that stays
    /// resident until a full collection.) A span holds at most <see cref="int.MaxValue"/> bytes, so tensors over
    /// <paramref name="partBytes"/> are read in parts of a flat view.
    /// </summary>
    /// <exception cref="EndOfStreamException">The stream ends before the tensor is full.</exception>
    public static void Read(Stream stream, Tensor tensor, long partBytes = MaxSpanBytes)
    {
        if (tensor.numel() * tensor.ElementSize <= partBytes)
        {
            stream.ReadExactly(tensor.bytes);
            return;
        }
        long perPart = Math.Max(1, partBytes / tensor.ElementSize);
        using var flat = tensor.view(-1);
        long count = flat.shape[0];
        for (long start = 0; start < count; start += perPart)
        {
            using var part = flat.narrow(0, start, Math.Min(perPart, count - start));
            stream.ReadExactly(part.bytes);
        }
    }
}

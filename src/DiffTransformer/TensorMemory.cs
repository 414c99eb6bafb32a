using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>Reaching a CPU tensor's memory from the C# kernels (<see cref="SmallBatchLinear"/>, <see cref="SmallBatchAttention"/>).</summary>
internal static class TensorMemory
{
    /// <summary>
    /// A one-element view at the first element of <paramref name="tensor"/> (a CPU tensor, any strides): pinning its
    /// <c>bytes</c> gives the address of element 0, from which the tensor's own strides reach every element. The view is
    /// a reference of its own to the memory, so the memory stays alive while the view does, even if another thread
    /// disposes or replaces the tensor meanwhile (LibTorch's ops hold their operands the same way).
    /// </summary>
    public static Tensor FirstElement(Tensor tensor) =>
        tensor.as_strided(new long[] { 1 }, new long[] { 1 }, tensor.storage_offset());
}

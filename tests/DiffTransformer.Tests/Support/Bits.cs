using static TorchSharp.torch;

namespace DiffTransformer.Tests;

internal static class Bits
{
    /// <summary>
    /// True when both tensors have the same dtype, shape and bytes (so -0.0 differs from 0.0, NaN equals NaN). Leaves no
    /// tensor behind (its copies live in a scope of their own).
    /// </summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var scope = NewDisposeScope();
        var x = a.detach().cpu().contiguous();
        var y = b.detach().cpu().contiguous();
        return x.bytes.SequenceEqual(y.bytes);
    }
}

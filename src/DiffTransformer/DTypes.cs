using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>Facts about tensor dtypes that the modules ask.</summary>
internal static class DTypes
{
    /// <summary>True for the 16-bit floating-point types, which are normalised (softmax, RMSNorm, loss) in float32.</summary>
    public static bool IsHalf(ScalarType dtype) => dtype is ScalarType.Float16 or ScalarType.BFloat16;
}

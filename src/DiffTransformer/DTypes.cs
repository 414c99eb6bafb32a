using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>Facts about tensor dtypes that the modules ask.</summary>
internal static class DTypes
{
    /// <summary>True for the 16-bit floating-point types, which are normalised (softmax, RMSNorm, loss) in float32.</summary>
    public static bool IsHalf(ScalarType dtype) => dtype is ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>Bytes per element of a floating-point <paramref name="dtype"/> (8 for the complex and 64-bit types, 4 otherwise).</summary>
    public static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Float64 or ScalarType.Int64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => 4,
    };
}

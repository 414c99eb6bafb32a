using System.Numerics;
using System.Runtime.CompilerServices;

namespace DiffTransformer;

/// <summary>The float32 loops of the C# kernels (<see cref="SmallBatchLinear"/>, <see cref="SmallBatchAttention"/>), on <see cref="Vector{T}"/> (256 bits with AVX2, 128 on Arm).</summary>
internal static unsafe class VectorMath
{
    /// <summary>
    /// <c>sum_i a[i] * b[i]</c> in a fixed order: four vector accumulators (so that the adds do not wait on one another),
    /// then one more vector, the accumulators' sum, its lanes, and the scalar tail.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(float* a, float* b, long length)
    {
        int width = Vector<float>.Count;
        var s0 = Vector<float>.Zero;
        var s1 = Vector<float>.Zero;
        var s2 = Vector<float>.Zero;
        var s3 = Vector<float>.Zero;
        long k = 0;
        for (; k + 4 * width <= length; k += 4 * width)
        {
            s0 += Load(a + k) * Load(b + k);
            s1 += Load(a + k + width) * Load(b + k + width);
            s2 += Load(a + k + 2 * width) * Load(b + k + 2 * width);
            s3 += Load(a + k + 3 * width) * Load(b + k + 3 * width);
        }
        for (; k + width <= length; k += width) s0 += Load(a + k) * Load(b + k);
        float total = Vector.Sum((s0 + s1) + (s2 + s3));
        for (; k < length; k++) total += a[k] * b[k];
        return total;
    }

    /// <summary><c>y[i] += a * x[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(float a, float* x, float* y, long length)
    {
        int width = Vector<float>.Count;
        var scale = new Vector<float>(a);
        long k = 0;
        for (; k + width <= length; k += width) Store(y + k, Load(y + k) + scale * Load(x + k));
        for (; k < length; k++) y[k] += a * x[k];
    }

    /// <summary>A vector from <paramref name="p"/>, which need not be aligned.</summary>
    public static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    /// <summary>Writes <paramref name="value"/> to <paramref name="p"/>, which need not be aligned.</summary>
    public static void Store(float* p, Vector<float> value) => Unsafe.WriteUnaligned(p, value);
}

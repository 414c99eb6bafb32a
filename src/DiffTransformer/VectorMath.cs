using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>Whether <see cref="EightDots"/> runs here (x86 with AVX2 and FMA).</summary>
    public static bool HasBlockKernels => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// <c>result[j] = scale * sum_i x[i] * rows[j * stride + i]</c> for the eight rows <c>j = 0..7</c>, with
    /// <paramref name="length"/> a multiple of 8. The rows are read one after another, front to back, so that memory is
    /// read as one sequential stream (reading the eight rows side by side, column by column, halved the rate from
    /// memory); each row has its own accumulator, so the out-of-order core overlaps one row's chain of fused
    /// multiply-adds with the next, and one shuffle tree sums all eight at once, where a dot product at a time
    /// (<see cref="Dot"/>) spends as long on its lane sum as on a 64-wide row. Requires <see cref="HasBlockKernels"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void EightDots(float* x, float* rows, long stride, long length, float scale, float* result)
    {
        var a0 = RowDot(x, rows, length);
        var a1 = RowDot(x, rows + stride, length);
        var a2 = RowDot(x, rows + 2 * stride, length);
        var a3 = RowDot(x, rows + 3 * stride, length);
        var a4 = RowDot(x, rows + 4 * stride, length);
        var a5 = RowDot(x, rows + 5 * stride, length);
        var a6 = RowDot(x, rows + 6 * stride, length);
        var a7 = RowDot(x, rows + 7 * stride, length);
        // Pairwise adds leave, per 128-bit lane, the four partial sums of rows 0-3 and of rows 4-7; the lanes then add.
        var first = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));
        var second = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));
        var sums = Avx.Add(Avx.Permute2x128(first, second, 0x20), Avx.Permute2x128(first, second, 0x31));
        Avx.Store(result, Avx.Multiply(sums, Vector256.Create(scale)));
    }

    /// <summary>The eight lane sums of <c>x[i] * row[i]</c>, <paramref name="length"/> a multiple of 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> RowDot(float* x, float* row, long length)
    {
        var sum = Vector256<float>.Zero;
        for (long i = 0; i < length; i += 8) sum = Fma.MultiplyAdd(Avx.LoadVector256(x + i), Avx.LoadVector256(row + i), sum);
        return sum;
    }

    /// <summary>
    /// <c>x = softmax(x)</c> over <paramref name="length"/> floats: the maximum, then <c>exp(x - max)</c> and its sum in one
    /// pass (<see cref="Exp"/>), then one scaling pass. <c>-inf</c> entries become 0; at least one entry must be finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftmaxInPlace(float* x, long length)
    {
        int width = Vector<float>.Count;
        long k = 0;
        var highest = new Vector<float>(float.NegativeInfinity);
        for (; k + width <= length; k += width) highest = Vector.Max(highest, Load(x + k));
        float max = float.NegativeInfinity;
        for (int lane = 0; lane < width; lane++) max = MathF.Max(max, highest[lane]);
        for (; k < length; k++) max = MathF.Max(max, x[k]);

        var shift = new Vector<float>(max);
        var sums = Vector<float>.Zero;
        for (k = 0; k + width <= length; k += width)
        {
            var e = Exp(Load(x + k) - shift);
            Store(x + k, e);
            sums += e;
        }
        float sum = Vector.Sum(sums);
        for (; k < length; k++) sum += x[k] = MathF.Exp(x[k] - max);

        float inverse = 1 / sum;
        var inverses = new Vector<float>(inverse);
        for (k = 0; k + width <= length; k += width) Store(x + k, Load(x + k) * inverses);
        for (; k < length; k++) x[k] *= inverse;
    }

    /// <summary>
    /// <c>exp</c> of each lane for arguments of at most 0 (a softmax's shifted scores), within about 2e-7 relative
    /// (1-2 ulp): <c>exp(x) = 2^n exp(r)</c> with <c>n = round(x / ln 2)</c>, <c>|r| &lt;= ln(2) / 2</c>, and a degree-5
    /// polynomial for <c>exp(r)</c> (Cephes' <c>expf</c> coefficients). Lanes below -87.3, where float32's normal range
    /// ends, are 0; NaN lanes stay NaN. The runtime's <c>Vector.Exp</c> (.NET 9 and later) took 5.5 ns a lane here (not vectorised).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        var underflow = Vector.LessThan(x, new Vector<float>(-87.3f));
        var n = Vector.Floor(x * new Vector<float>(1.44269504f) + new Vector<float>(0.5f)); // round to nearest
        // r = x - n ln 2, with ln 2 in two parts so that the product is exact for the n that occur.
        var r = x - n * new Vector<float>(0.693359375f) - n * new Vector<float>(-2.12194440e-4f);
        var p = new Vector<float>(1.9875691500e-4f);
        p = p * r + new Vector<float>(1.3981999507e-3f);
        p = p * r + new Vector<float>(8.3334519073e-3f);
        p = p * r + new Vector<float>(4.1665795894e-2f);
        p = p * r + new Vector<float>(1.6666665459e-1f);
        p = p * r + new Vector<float>(5.0000001201e-1f);
        var e = p * r * r + r + Vector<float>.One;
        // Times 2^n: n added to the exponent bits (n >= -126 here, so the result stays normal).
        var scaled = Vector.AsVectorSingle(Vector.AsVectorInt32(e) + (Vector.ConvertToInt32(Vector.Max(n, new Vector<float>(-126f))) << 23));
        var result = Vector.ConditionalSelect(underflow, Vector<float>.Zero, scaled);
        return Vector.ConditionalSelect(Vector.Equals(x, x), result, x); // NaN stays NaN
    }

    /// <summary>A vector from <paramref name="p"/>, which need not be aligned.</summary>
    public static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    /// <summary>Writes <paramref name="value"/> to <paramref name="p"/>, which need not be aligned.</summary>
    public static void Store(float* p, Vector<float> value) => Unsafe.WriteUnaligned(p, value);
}

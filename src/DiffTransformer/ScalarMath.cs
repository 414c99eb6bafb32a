using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Tensor arithmetic with numbers that keeps every TorchSharp <see cref="Scalar"/> alive through its native call.
/// TorchSharp 0.107 hands a Scalar's raw handle to native code without keeping the Scalar object reachable, so a Scalar
/// made on the fly (<c>x + 1e-5</c>, <c>x * 2.0</c>, <c>x &gt; 0</c>, and the hidden <c>alpha = 1</c> of <c>a + b</c>) can
/// be finalized by the GC while the call still reads it: a rare, random "Expected false to be true ... toFloat"
/// error or a wrong value. Here each Scalar is disposed only after the call returns, and the shared ones are static.
/// The library uses these helpers instead of TorchSharp's operators with numbers and its tensor <c>+</c>;
/// <c>ScalarLifetimeTests</c> checks that no other use creeps in.
/// </summary>
internal static class ScalarMath
{
    /// <summary>The Scalar 1, shared (static, never finalized).</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>The Scalar -1, shared (static, never finalized): e.g. the value of <c>addcmul(a, b, c, MinusOne)</c> = <c>a - b * c</c>.</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();

    /// <summary>The Scalar true, shared (static, never finalized): what <c>fill_</c> writes into a bool mask.</summary>
    public static readonly Scalar True = true.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a += b</c>, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>a + value</c>.</summary>
    public static Tensor Plus(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.add(s, One);
    }

    /// <summary><c>a += value</c> in place, keeping an integer tensor integer.</summary>
    public static Tensor PlusInPlace(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.add_(s, One);
    }

    /// <summary><c>a - value</c>, keeping an integer tensor integer.</summary>
    public static Tensor Minus(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.sub(s);
    }

    /// <summary><c>a * value</c>.</summary>
    public static Tensor Times(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.mul(s);
    }

    /// <summary><c>a / value</c>.</summary>
    public static Tensor DividedBy(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.div(s);
    }

    /// <summary><c>a ^ exponent</c>.</summary>
    public static Tensor Power(this Tensor a, double exponent)
    {
        using var s = exponent.ToScalar();
        return a.pow(s);
    }

    /// <summary><c>max(a, min)</c> elementwise, keeping an integer tensor integer.</summary>
    public static Tensor AtLeast(this Tensor a, long min)
    {
        using var s = min.ToScalar();
        return a.clamp_min(s);
    }

    /// <summary><c>min(a, max)</c> elementwise.</summary>
    public static Tensor AtMost(this Tensor a, double max)
    {
        using var s = max.ToScalar();
        return a.clamp_max(s);
    }

    /// <summary><paramref name="a"/> with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor Filled(this Tensor a, Tensor mask, double value)
    {
        using var s = value.ToScalar();
        return a.masked_fill(mask, s);
    }

    /// <summary><paramref name="a"/> with <paramref name="value"/> at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public static Tensor IndexFilled(this Tensor a, long dim, Tensor index, double value)
    {
        using var s = value.ToScalar();
        return a.index_fill(dim, index, s);
    }

    /// <summary>Elementwise <c>a &gt; value</c>.</summary>
    public static Tensor Greater(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.gt(s);
    }

    /// <summary>Elementwise <c>a &lt; value</c>.</summary>
    public static Tensor Less(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.lt(s);
    }

    /// <summary>Elementwise <c>a &lt;= value</c>.</summary>
    public static Tensor AtMostMask(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.le(s);
    }

    /// <summary>Elementwise <c>a &gt;= value</c>.</summary>
    public static Tensor AtLeastMask(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.ge(s);
    }

    /// <summary>Elementwise <c>a != value</c>.</summary>
    public static Tensor NotEqual(this Tensor a, long value)
    {
        using var s = value.ToScalar();
        return a.ne(s);
    }

    /// <summary><c>base ^ exponent</c> elementwise over the exponents (the base as a 0-d tensor: no Scalar at all).</summary>
    public static Tensor PowerOf(double @base, Tensor exponent)
    {
        using var b = tensor(@base, exponent.dtype, exponent.device);
        return b.pow(exponent);
    }

    /// <summary><c>[start, start + step, ..., stop)</c> as a 1-D tensor.</summary>
    public static Tensor Range(long start, long stop, long step, ScalarType dtype, Device? device)
    {
        using var first = start.ToScalar();
        using var end = stop.ToScalar();
        using var by = step.ToScalar();
        return arange(first, end, by, dtype, device);
    }
}

using System.Numerics;
using TorchSharp;

namespace DiffTransformer;

/// <summary>Argument checks whose messages name the argument, the rule and the value.</summary>
internal static class Guard
{
    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive; got {value}.");
    }

    /// <summary>Checks <c>value &gt;= minimum</c> (NaN fails).</summary>
    public static void AtLeast<T>(T value, string name, T minimum) where T : INumber<T>
    {
        if (!(value >= minimum)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be >= {minimum}; got {value}.");
    }

    public static void NonNegative<T>(T value, string name) where T : INumber<T> => AtLeast(value, name, T.Zero);

    /// <summary>Checks <c>0 &lt;= value &lt;= bound</c> (NaN fails), where <paramref name="boundName"/> names the bound.</summary>
    public static void UpTo<T>(T value, string name, T bound, string boundName) where T : INumber<T>
    {
        if (!(value >= T.Zero && value <= bound))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [0, {boundName}={bound}]; got {value}.");
    }

    /// <summary>
    /// Checks <c>0 &lt;= value &lt; count</c>, where <paramref name="countName"/> names the count; <paramref name="name"/>
    /// may be an element (<c>StopTokens[2]</c>) of the argument <paramref name="argument"/>.
    /// </summary>
    public static void Index(long value, string name, long count, string countName, string argument)
    {
        if (value < 0 || value >= count)
            throw new ArgumentOutOfRangeException(argument, value, $"{name} must lie in [0, {count}) ({countName}); got {value}.");
    }

    public static void NotBlank(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new ArgumentException($"{name} must be null or a non-blank path; got '{value}'.", name);
    }

    public static void NonNegativeFinite(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number >= 0; got {value}.");
    }

    /// <summary>Checks <c>0 &lt;= value &lt; 1</c> (NaN fails).</summary>
    public static void UnitInterval(double value, string name)
    {
        if (!(value >= 0 && value < 1)) throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [0, 1); got {value}.");
    }

    public static void PositiveFinite(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive finite number (> 0); got {value}.");
    }

    /// <summary>Checks <c>0 &lt; value &lt;= 1</c> (NaN fails).</summary>
    public static void PositiveUpToOne(double value, string name)
    {
        if (!(value > 0 && value <= 1)) throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in (0, 1]; got {value}.");
    }

    public static void DivisibleBy(int value, string name, int divisor, string divisorText)
    {
        if (value % divisor != 0)
            throw new ArgumentException($"{name} must be divisible by {divisorText}; got {name}={value}, {divisorText}={divisor}.", name);
    }

    public static void Even(int value, string name)
    {
        if (value % 2 != 0)
            throw new ArgumentException($"{name} must be even (rotary embedding rotates pairs of dimensions); got {value}.", name);
    }

    public static void Defined<TEnum>(TEnum value, string name) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be one of {string.Join(", ", Enum.GetNames<TEnum>())}; got {value}.");
    }

    /// <summary>Checks that <paramref name="x"/> is a floating-point <c>[batch, time, embedDim]</c> tensor.</summary>
    public static void Hidden(torch.Tensor x, long embedDim, string name)
    {
        ArgumentNullException.ThrowIfNull(x, name);
        if (x.dim() != 3 || x.shape[2] != embedDim || x.shape[0] == 0 || x.shape[1] == 0)
            throw new ArgumentException(
                $"{name} must have shape [batch, time, {embedDim}] with batch and time >= 1; got {Shape(x)}.", name);
        if (!torch.is_floating_point(x))
            throw new ArgumentException($"{name} must be a floating-point tensor; got dtype {x.dtype}.", name);
    }

    /// <summary>
    /// The one rule for token tensors, of <see cref="DiffTransformerLM.forward(TorchSharp.torch.Tensor, KvCache, TorchSharp.torch.Tensor)"/> and of generation alike:
    /// <paramref name="tokens"/> is <c>[batch, time]</c> with batch and time &gt;= 1 and holds integer ids (int64, int32,
    /// int16, int8 or uint8).
    /// </summary>
    public static void TokenIds(torch.Tensor tokens, string name)
    {
        ArgumentNullException.ThrowIfNull(tokens, name);
        if (tokens.dim() != 2 || tokens.shape[0] == 0 || tokens.shape[1] == 0)
            throw new ArgumentException($"{name} must have shape [batch, time] with batch and time >= 1; got {Shape(tokens)}.", name);
        if (tokens.dtype is not (torch.ScalarType.Int64 or torch.ScalarType.Int32 or torch.ScalarType.Int16 or torch.ScalarType.Int8 or torch.ScalarType.Byte))
            throw new ArgumentException($"{name} must hold integer token ids; got dtype {tokens.dtype}.", name);
    }

    public static string Shape(torch.Tensor t) => Shape(t.shape);

    public static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}

namespace DiffTransformer;

/// <summary>
/// Scaling of the rotary inverse frequencies <c>inv[i] = theta^(-2i/headDim)</c>, as Hugging Face's <c>rope_scaling</c>.
/// No scaling (Hugging Face <c>default</c>) is a null <see cref="RopeScaling"/>. The attention scaling of these kinds is 1.
/// </summary>
public sealed record RopeScaling
{
    /// <summary>Which rule.</summary>
    public RopeScalingKind Kind { get; init; }

    /// <summary>How much longer the context is than the one trained on (&gt;= 1).</summary>
    public double Factor { get; init; } = 1;

    /// <summary><see cref="RopeScalingKind.Llama3"/>: wavelengths above <c>OriginalMaxPositionEmbeddings / LowFreqFactor</c> are divided by the factor.</summary>
    public double LowFreqFactor { get; init; } = 1;

    /// <summary><see cref="RopeScalingKind.Llama3"/>: wavelengths below <c>OriginalMaxPositionEmbeddings / HighFreqFactor</c> are kept.</summary>
    public double HighFreqFactor { get; init; } = 4;

    /// <summary><see cref="RopeScalingKind.Llama3"/>: the context length the model was trained on.</summary>
    public int OriginalMaxPositionEmbeddings { get; init; } = 8192;

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> and the first field that breaks its rule.</summary>
    public void Validate(string name)
    {
        Guard.Defined(Kind, $"{name}.{nameof(Kind)}");
        if (!(Factor >= 1) || double.IsInfinity(Factor))
            throw new ArgumentOutOfRangeException($"{name}.{nameof(Factor)}", Factor, $"{name}.{nameof(Factor)} must be a finite number >= 1; got {Factor}.");
        if (Kind != RopeScalingKind.Llama3) return;
        Guard.PositiveFinite(LowFreqFactor, $"{name}.{nameof(LowFreqFactor)}");
        Guard.PositiveFinite(HighFreqFactor, $"{name}.{nameof(HighFreqFactor)}");
        if (!(HighFreqFactor > LowFreqFactor))
            throw new ArgumentException(
                $"{name}.{nameof(HighFreqFactor)} must exceed {nameof(LowFreqFactor)}; got {HighFreqFactor} and {LowFreqFactor}.", $"{name}.{nameof(HighFreqFactor)}");
        Guard.Positive(OriginalMaxPositionEmbeddings, $"{name}.{nameof(OriginalMaxPositionEmbeddings)}");
    }

    /// <summary>The scaled frequencies of <paramref name="inverseFrequencies"/> (radians per position).</summary>
    internal double[] Apply(double[] inverseFrequencies) => Kind switch
    {
        RopeScalingKind.Linear => inverseFrequencies.Select(f => f / Factor).ToArray(),
        _ => inverseFrequencies.Select(Llama3).ToArray(),
    };

    private double Llama3(double frequency)
    {
        double wavelength = 2 * Math.PI / frequency;
        double longest = OriginalMaxPositionEmbeddings / LowFreqFactor, shortest = OriginalMaxPositionEmbeddings / HighFreqFactor;
        if (wavelength < shortest) return frequency;
        if (wavelength > longest) return frequency / Factor;
        double smooth = (OriginalMaxPositionEmbeddings / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * frequency / Factor + smooth * frequency;
    }
}

namespace DiffTransformer;

/// <summary>
/// The rotary inverse frequencies of a Hugging Face config, in double precision (transformers computes the same
/// formulas in float32): <c>inv_freq[i] = 1 / rope_theta^(2i / head_dim)</c> for <c>i &lt; head_dim/2</c>; the angle of
/// position <c>p</c> is <c>p * inv_freq[i]</c>, shared by dims <c>i</c> and <c>i + head_dim/2</c> (half-split layout).
/// </summary>
internal static class HuggingFaceRope
{
    /// <summary>
    /// <c>inv_freq</c>, length <paramref name="headDim"/>/2, for the default rotary embedding (<paramref name="scaling"/>
    /// null), linear scaling (<c>inv_freq / factor</c>) or llama3 scaling: with <c>wl = 2*pi/inv_freq</c>,
    /// <c>lo = orig/low_freq_factor</c>, <c>hi = orig/high_freq_factor</c>: <c>wl &lt; hi</c> unchanged, <c>wl &gt; lo</c>
    /// divided by <c>factor</c>, otherwise blended by <c>s = (orig/wl - low_freq_factor)/(high_freq_factor - low_freq_factor)</c>
    /// as <c>(1-s)*inv/factor + s*inv</c>. The attention scaling is 1 for all three.
    /// </summary>
    public static double[] InverseFrequencies(int headDim, double ropeTheta, HuggingFaceRopeScaling? scaling)
    {
        if (headDim <= 0 || headDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"headDim must be positive and even; got {headDim}.");
        Guard.PositiveFinite(ropeTheta, nameof(ropeTheta));
        var inv = new double[headDim / 2];
        for (int i = 0; i < inv.Length; i++) inv[i] = 1.0 / Math.Pow(ropeTheta, 2.0 * i / headDim);
        if (scaling is null) return inv;
        Guard.PositiveFinite(scaling.Factor, "scaling.Factor");
        double factor = scaling.Factor;
        switch (scaling.Type)
        {
            case HuggingFaceRopeType.Default:
                return inv;
            case HuggingFaceRopeType.Linear:
                for (int i = 0; i < inv.Length; i++) inv[i] /= factor;
                return inv;
            case HuggingFaceRopeType.Llama3:
            {
                double low = scaling.LowFreqFactor ?? throw Missing("LowFreqFactor");
                double high = scaling.HighFreqFactor ?? throw Missing("HighFreqFactor");
                double original = scaling.OriginalMaxPositionEmbeddings ?? throw Missing("OriginalMaxPositionEmbeddings");
                if (!(high > low))
                    throw new ArgumentException($"scaling.HighFreqFactor must exceed scaling.LowFreqFactor; got {high} and {low}.", nameof(scaling));
                double lowWavelength = original / low, highWavelength = original / high;
                for (int i = 0; i < inv.Length; i++)
                {
                    double wavelength = 2 * Math.PI / inv[i];
                    if (wavelength < highWavelength) continue;
                    if (wavelength > lowWavelength)
                    {
                        inv[i] /= factor;
                        continue;
                    }
                    double s = (original / wavelength - low) / (high - low);
                    inv[i] = (1 - s) * inv[i] / factor + s * inv[i];
                }
                return inv;
            }
            default:
                throw new ArgumentException($"scaling.Type {scaling.Type} is not supported.", nameof(scaling));
        }
    }

    private static ArgumentException Missing(string field) =>
        new($"scaling.{field} must be set for llama3 scaling; got null.", "scaling");
}

namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>Rotary inverse frequencies (<see cref="RotaryEmbedding"/>, <see cref="RopeScaling"/>) against the golden README's formulas, evaluated here independently.</summary>
public sealed class HuggingFaceRopeTests
{
    // theta^(-2i/d) written as exp(-(2i/d) ln theta): the same number by another route.
    private static double Default(int i, int headDim, double theta) => Math.Exp(-(2.0 * i / headDim) * Math.Log(theta));

    [Theory]
    [InlineData(8, 10000.0)]
    [InlineData(16, 50000.0)]
    [InlineData(128, 500000.0)]
    public void DefaultFrequenciesAreThetaToTheMinusTwoIOverD(int headDim, double theta)
    {
        var inv = new RotaryEmbedding(headDim, theta).InverseFrequencies;
        Assert.Equal(headDim / 2, inv.Length);
        Assert.Equal(1.0, inv[0]);
        for (int i = 0; i < inv.Length; i++) Assert.Equal(Default(i, headDim, theta), inv[i], 1e-14 * Default(i, headDim, theta));
    }

    [Fact]
    public void LinearScalingDividesByTheFactor()
    {
        var inv = new RotaryEmbedding(32, 10000.0, new RopeScaling { Kind = RopeScalingKind.Linear, Factor = 4.0 }).InverseFrequencies;
        for (int i = 0; i < inv.Length; i++) Assert.Equal(Default(i, 32, 10000.0) / 4.0, inv[i], 1e-14 * inv[i]);
    }

    [Fact]
    public void Llama3ScalingKeepsShortWavelengthsDividesLongOnesAndBlendsBetween()
    {
        const int headDim = 64;
        const double theta = 500000.0, factor = 8.0, low = 1.0, high = 4.0;
        const int original = 64;
        var inv = new RotaryEmbedding(headDim, theta, new RopeScaling
        {
            Kind = RopeScalingKind.Llama3, Factor = factor, LowFreqFactor = low, HighFreqFactor = high, OriginalMaxPositionEmbeddings = original,
        }).InverseFrequencies;
        int kept = 0, divided = 0, blended = 0;
        for (int i = 0; i < inv.Length; i++)
        {
            double f = Default(i, headDim, theta);
            double wavelength = 2 * Math.PI / f;
            double expected;
            if (wavelength < original / high)
            {
                expected = f;
                kept++;
            }
            else if (wavelength > original / low)
            {
                expected = f / factor;
                divided++;
            }
            else
            {
                double s = (original / wavelength - low) / (high - low);
                expected = (1 - s) * f / factor + s * f;
                blended++;
                Assert.InRange(inv[i], f / factor, f); // between the two neighbours' rules
            }
            Assert.Equal(expected, inv[i], 1e-13 * expected);
        }
        Assert.True(kept > 0 && divided > 0 && blended > 0, $"every region covered: {kept} kept, {divided} divided, {blended} blended");
    }
}

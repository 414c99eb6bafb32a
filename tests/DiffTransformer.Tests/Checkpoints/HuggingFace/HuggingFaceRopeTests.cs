namespace DiffTransformer.Tests.Checkpoints.HuggingFace;

/// <summary>Rotary inverse frequencies against the README's formulas, evaluated here independently.</summary>
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
        var inv = HuggingFaceRope.InverseFrequencies(headDim, theta, null);
        Assert.Equal(headDim / 2, inv.Length);
        Assert.Equal(1.0, inv[0]);
        for (int i = 0; i < inv.Length; i++) Assert.Equal(Default(i, headDim, theta), inv[i], 1e-14 * Default(i, headDim, theta));
    }

    [Fact]
    public void LinearScalingDividesByTheFactor()
    {
        var inv = HuggingFaceRope.InverseFrequencies(32, 10000.0, HuggingFaceRopeScaling.Linear(4.0));
        for (int i = 0; i < inv.Length; i++) Assert.Equal(Default(i, 32, 10000.0) / 4.0, inv[i], 1e-14 * inv[i]);
    }

    [Fact]
    public void Llama3ScalingKeepsShortWavelengthsDividesLongOnesAndBlendsBetween()
    {
        const int headDim = 64;
        const double theta = 500000.0, factor = 8.0, low = 1.0, high = 4.0;
        const int original = 64;
        var inv = HuggingFaceRope.InverseFrequencies(headDim, theta, HuggingFaceRopeScaling.Llama3(factor, low, high, original));
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

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HuggingFaceRope.InverseFrequencies(7, 10000.0, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => HuggingFaceRope.InverseFrequencies(8, -1.0, null));
        Assert.Throws<ArgumentException>(() => HuggingFaceRope.InverseFrequencies(8, 10000.0, new HuggingFaceRopeScaling(HuggingFaceRopeType.Llama3, 8.0)));
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// The C# kernels' building blocks against float64 references: the exponential over a softmax's whole range (its
/// edges included), the in-place softmax with masked entries and scalar tails, and the eight-row dot products.
/// </summary>
public unsafe class VectorMathTests
{
    [Fact]
    public void ExpIsWithinTwoUlpOfTheTrueValueOverTheSoftmaxRange()
    {
        int width = System.Numerics.Vector<float>.Count;
        var lanes = new float[width];
        double worst = 0;
        for (float x = -87.2f; x <= 0; x += 0.0137f)
        {
            for (int i = 0; i < width; i++) lanes[i] = x + i * 1e-3f > 0 ? 0 : x + i * 1e-3f;
            var result = VectorMath.Exp(new System.Numerics.Vector<float>(lanes));
            for (int i = 0; i < width; i++) worst = Math.Max(worst, Math.Abs(result[i] - Math.Exp(lanes[i])) / Math.Exp(lanes[i]));
        }
        Assert.True(worst < 2.4e-7, $"largest relative error {worst:E2}");
        Assert.Equal(1f, VectorMath.Exp(System.Numerics.Vector<float>.Zero)[0]);
    }

    [Fact]
    public void ExpIsZeroBelowTheNormalRangeAndKeepsNaN()
    {
        foreach (float x in new[] { float.NegativeInfinity, -1e30f, -100f, -87.5f })
            Assert.Equal(0f, VectorMath.Exp(new System.Numerics.Vector<float>(x))[0]);
        Assert.True(float.IsNaN(VectorMath.Exp(new System.Numerics.Vector<float>(float.NaN))[0]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(257)]
    [InlineData(2048)]
    public void SoftmaxInPlaceMatchesAFloat64SoftmaxWithMaskedEntries(int length)
    {
        using var scope = NewDisposeScope();
        manual_seed(length);
        var scores = randn(length).Times(6);
        var masked = rand(length).Greater(0.7);
        masked[0] = tensor(false); // one finite entry at least
        scores = scores.Filled(masked, double.NegativeInfinity);
        var expected = scores.to(ScalarType.Float64).softmax(0);
        var values = scores.data<float>().ToArray();
        fixed (float* p = values) VectorMath.SoftmaxInPlace(p, length);
        var actual = tensor(values);
        Compare.Close(actual, expected, 1e-6, $"softmax of {length}");
        Assert.True(actual.masked_select(masked).eq(0).all().item<bool>(), "masked entries are exactly 0");
    }

    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(128)]
    public void EightDotsMatchAFloat64ProductOfStridedRows(int length)
    {
        Assert.SkipUnless(VectorMath.HasBlockKernels, "no AVX2 and FMA: the callers take VectorMath.Dot, tested through them");
        using var scope = NewDisposeScope();
        manual_seed(length);
        long stride = length + 24; // rows of a cache buffer: not packed
        var rows = randn(8, stride);
        var x = randn(length);
        var expected = matmul(rows.narrow(1, 0, length).to(ScalarType.Float64), x.to(ScalarType.Float64)).Times(0.125);
        var rowValues = rows.data<float>().ToArray();
        var xValues = x.data<float>().ToArray();
        var result = new float[8];
        fixed (float* r = rowValues, xp = xValues, o = result) VectorMath.EightDots(xp, r, stride, length, 0.125f, o);
        Compare.Close(tensor(result), expected, 1e-6, $"eight dots of {length}");
    }
}

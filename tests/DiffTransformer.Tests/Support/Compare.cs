using static TorchSharp.torch;

namespace DiffTransformer.Tests;

internal static class Compare
{
    /// <summary>max |actual - expected| / max |expected|, computed in float64.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(expected.shape, actual.shape);
        var a = actual.detach().cpu().to(ScalarType.Float64);
        var e = expected.detach().cpu().to(ScalarType.Float64);
        double scale = e.abs().max().item<double>();
        double diff = (a - e).abs().max().item<double>();
        Assert.False(double.IsNaN(diff), "difference is NaN");
        return scale == 0 ? diff : diff / scale;
    }

    /// <summary>Asserts a relative error within <paramref name="tolerance"/>; set DIFFTRANSFORMER_PARITY_LOG to a file to record every error.</summary>
    public static void Close(Tensor actual, Tensor expected, double tolerance, string what)
    {
        double error = RelativeError(actual, expected);
        if (Environment.GetEnvironmentVariable("DIFFTRANSFORMER_PARITY_LOG") is { Length: > 0 } log)
            File.AppendAllText(log, $"{what}\t{error:E3}\n");
        Assert.True(error <= tolerance, $"{what}: relative error {error:E3} exceeds {tolerance:E1}");
    }
}

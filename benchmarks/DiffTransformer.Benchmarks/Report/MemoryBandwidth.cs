using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// The machine's memory bandwidth as LibTorch reaches it, measured in the run that uses it: a copy of a 1 GiB float32
/// tensor (bytes read plus bytes written, over the time) and a matrix-vector product over a 1 GiB float32 matrix (the
/// matrix's bytes over the time: the read a decoding step does). The limit is the faster of the two.
/// </summary>
public sealed record MemoryBandwidth(double CopyBytesPerSecond, double MatVecBytesPerSecond)
{
    /// <summary>The bandwidth a decoding step is held to: the faster of the two measurements.</summary>
    public double Limit => Math.Max(CopyBytesPerSecond, MatVecBytesPerSecond);

    /// <summary>Measures both, each the median of <paramref name="repeats"/> runs after one warm-up.</summary>
    public static MemoryBandwidth Measure(int repeats = 7)
    {
        const long Elements = 1L << 28; // 1 GiB of float32
        double copySeconds, matVecSeconds;
        using (no_grad())
        using (NewDisposeScope())
        {
            var source = rand(Elements);
            var target = empty_like(source);
            copySeconds = MedianSeconds(repeats, () => target.copy_(source)); // in place: returns target, not disposed
            var matrix = source.view(1L << 14, 1L << 14);
            var vector = rand(1L << 14);
            matVecSeconds = MedianSeconds(repeats, () => matrix.mv(vector).Dispose());
        }
        double bytes = Elements * sizeof(float);
        return new MemoryBandwidth(2 * bytes / copySeconds, bytes / matVecSeconds);
    }

    static double MedianSeconds(int repeats, Action run)
    {
        var samples = new double[repeats];
        run();
        for (int i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            run();
            samples[i] = watch.Elapsed.TotalSeconds;
        }
        return Timings.MedianOf(samples);
    }
}

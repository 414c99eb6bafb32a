using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// The machine's memory bandwidth as LibTorch reaches it, measured in the run that uses it, on a 1 GiB float32 tensor:
/// a sum (a pure read), a matrix-vector product over it as a 16384 x 16384 matrix (the read a decoding step does), and
/// a copy (bytes read plus bytes written). A decoding step only reads, so its limit is the faster of the two reads.
/// </summary>
public sealed record MemoryBandwidth(double SumBytesPerSecond, double MatVecBytesPerSecond, double CopyBytesPerSecond)
{
    /// <summary>The read bandwidth a decoding step is held to: the faster of the sum and the matrix-vector product.</summary>
    public double Limit => Math.Max(SumBytesPerSecond, MatVecBytesPerSecond);

    /// <summary>Measures all three, each the median of <paramref name="repeats"/> runs after one warm-up.</summary>
    public static MemoryBandwidth Measure(int repeats = 7)
    {
        const long Elements = 1L << 28; // 1 GiB of float32
        double sumSeconds, matVecSeconds, copySeconds;
        using (no_grad())
        using (NewDisposeScope())
        {
            var source = rand(Elements);
            sumSeconds = MedianSeconds(repeats, () => source.sum().Dispose());
            var matrix = source.view(1L << 14, 1L << 14);
            var vector = rand(1L << 14);
            matVecSeconds = MedianSeconds(repeats, () => matrix.mv(vector).Dispose());
            var target = empty_like(source);
            copySeconds = MedianSeconds(repeats, () => target.copy_(source)); // in place: returns target, not disposed
        }
        double bytes = Elements * sizeof(float);
        return new MemoryBandwidth(bytes / sumSeconds, bytes / matVecSeconds, 2 * bytes / copySeconds);
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

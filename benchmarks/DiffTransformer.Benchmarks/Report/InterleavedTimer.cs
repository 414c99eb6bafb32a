using System.Diagnostics;

namespace DiffTransformer.Benchmarks;

/// <summary>A named piece of work to time.</summary>
public sealed record TimedCase(string Key, Action Run);

/// <summary>
/// Times several cases side by side: each round runs every case once, in order, so that a change in machine load hits
/// all of them alike. Ratios are then taken within a round (see <see cref="Timings.MedianRatio"/>).
/// </summary>
public static class InterleavedTimer
{
    /// <summary>Runs <paramref name="warmupRounds"/> untimed rounds, then <paramref name="rounds"/> timed ones.</summary>
    public static Timings Measure(IReadOnlyList<TimedCase> cases, int warmupRounds, int rounds, Action<string>? progress = null)
    {
        var samples = cases.ToDictionary(c => c.Key, _ => new List<double>());
        for (int round = 0; round < warmupRounds + rounds; round++)
        {
            foreach (var c in cases)
            {
                var watch = Stopwatch.StartNew();
                c.Run();
                double ms = watch.Elapsed.TotalMilliseconds;
                if (round >= warmupRounds) samples[c.Key].Add(ms);
            }
            progress?.Invoke(round < warmupRounds ? $"warm-up round {round + 1}/{warmupRounds}" : $"round {round - warmupRounds + 1}/{rounds}");
        }
        return new Timings(samples);
    }
}

/// <summary>Milliseconds per round for each case; round i of every case was measured in the same pass.</summary>
public sealed class Timings
{
    private readonly Dictionary<string, List<double>> samples;

    /// <summary>Wraps measured samples.</summary>
    public Timings(Dictionary<string, List<double>> samples) => this.samples = samples;

    /// <summary>True when the case was measured.</summary>
    public bool Has(string key) => samples.ContainsKey(key);

    /// <summary>Milliseconds of each timed round of a case.</summary>
    public IReadOnlyList<double> Samples(string key) => samples[key];

    /// <summary>Median milliseconds of a case.</summary>
    public double Median(string key) => MedianOf(samples[key]);

    /// <summary>Fastest round of a case.</summary>
    public double Min(string key) => samples[key].Min();

    /// <summary>Median over rounds of <c>time(key) / time(baseline)</c>, both from the same round.</summary>
    public double MedianRatio(string key, string baseline) =>
        MedianOf(samples[key].Zip(samples[baseline], (a, b) => a / b).ToList());

    /// <summary>The ratio as the reports print it: "1 (baseline)" for the baseline itself, else "1.23x".</summary>
    public string RatioText(string key, string baseline) => key == baseline ? "1 (baseline)" : $"{MedianRatio(key, baseline):F2}x";

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double MedianOf(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}

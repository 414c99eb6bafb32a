using System.Globalization;
using System.Text;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Peak native memory of one attention call as time grows (one child process per case, see <see cref="MemoryProbe"/>):
/// the fused kernel should grow linearly and run time 16384 within 2 GiB; the naive one grows quadratically.
/// </summary>
public static class MemorySection
{
    /// <summary>The length of the 2 GiB claim.</summary>
    public const long ClaimTime = 16384;

    /// <summary>The memory of the 2 GiB claim.</summary>
    public const long ClaimBytes = 2L << 30;

    /// <summary>Runs the section and returns its Markdown.</summary>
    public static string Run(ReportOptions options, Action<string> log)
    {
        if (!MemoryProbe.Supported) return "Skipped: peak memory is read from /proc/self/status, which this OS does not have.\n";
        var variants = options.Full ? LayerVariants.All : new[] { LayerVariant.Softmax, LayerVariant.DiffV1 };
        var fusedTimes = options.Full ? new long[] { 1024, 2048, 4096, 8192, ClaimTime } : new long[] { 2048, 4096, ClaimTime };
        var naiveTimes = options.Full ? new long[] { 1024, 2048, 4096, 8192, ClaimTime } : new long[] { 1024, 2048, 4096, ClaimTime };
        long capBytes = (long)(options.NaiveMemoryCapGiB * (1L << 30));

        var rows = new List<(MemoryCase First, List<(long Time, MemoryResult? Result, string? Skipped)> Cells)>();
        foreach (var variant in variants)
        foreach (var kernel in new[] { AttentionKernel.Fused, AttentionKernel.Naive })
        foreach (var pass in new[] { LayerPass.ForwardBackward, LayerPass.Forward })
        {
            var times = kernel == AttentionKernel.Fused ? fusedTimes : naiveTimes;
            // The short run measures the forward pass only at the longest length that runs; when no naive length fits
            // under the cap, its row shows the shortest as not run.
            if (!options.Full && pass == LayerPass.Forward)
                times = new[] { times.LastOrDefault(t => kernel == AttentionKernel.Fused || !TooLarge(t, capBytes), times[0]) };
            var cells = new List<(long, MemoryResult?, string?)>();
            foreach (long time in times)
            {
                var memoryCase = new MemoryCase(variant, kernel, pass, time);
                if (kernel == AttentionKernel.Naive && TooLarge(time, capBytes))
                {
                    cells.Add((time, null, $"not run: one [1, 8, T, T] map alone is {Gib(MemoryProbe.MapBytes(time))}"));
                    continue;
                }
                log($"memory: {variant} {kernel} {pass} time {time}");
                cells.Add((time, MemoryProbe.Measure(memoryCase, options.Threads, TimeSpan.FromMinutes(10)), null));
            }
            rows.Add((new MemoryCase(variant, kernel, pass, 0), cells));
        }

        var allTimes = rows.SelectMany(r => r.Cells.Select(c => c.Time)).Distinct().Order().ToList();
        var text = new StringBuilder();
        text.AppendLine("Peak resident memory added by one call of the layer (MiB above the process's resident set before the call; " +
                        "batch 1, float32, embed 512), one fresh process per cell.");
        text.AppendLine();
        text.AppendLine("| layer | kernel | pass | " + string.Join(" | ", allTimes.Select(t => $"T={t}")) + " | growth per doubling of T |");
        text.AppendLine("|---|---|---|" + string.Concat(allTimes.Select(_ => "---:|")) + "---:|");
        var notes = new List<string>();
        foreach (var (first, cells) in rows)
        {
            text.Append($"| {LayerVariants.Describe(first.Variant)} | {first.Kernel} | {LayerSection.Name(first.Pass)} |");
            foreach (long time in allTimes)
            {
                var cell = cells.FirstOrDefault(c => c.Time == time);
                if (cell == default) text.Append(" |");
                else if (cell.Skipped is not null) { text.Append(" not run* |"); notes.Add($"{first.Kernel} at T={time}: {cell.Skipped}"); }
                else if (cell.Result!.Failure is not null) text.Append($" failed: {cell.Result.Failure} |");
                else text.Append($" {Mib(cell.Result.PeakBytes!.Value)} |");
            }
            text.AppendLine($" {Growth(cells)} |");
        }
        text.AppendLine();
        foreach (var note in notes.Distinct()) text.AppendLine($"\\* {note} (the cap is {options.NaiveMemoryCapGiB.ToString(CultureInfo.InvariantCulture)} GiB for three such maps).  ");
        text.AppendLine();
        text.AppendLine(Claim(rows.SelectMany(r => r.Cells).Where(c => c.Result is { Failure: null }).Select(c => c.Result!)));
        return text.ToString();
    }

    private static string Claim(IEnumerable<MemoryResult> results)
    {
        var text = new StringBuilder($"Time {ClaimTime}, batch 1, within {Gib(ClaimBytes)}:\n\n");
        foreach (var r in results.Where(r => r.Case.Time == ClaimTime && r.Case.Kernel == AttentionKernel.Fused))
            text.AppendLine($"- fused {LayerVariants.Describe(r.Case.Variant)}, {LayerSection.Name(r.Case.Pass)}: {Mib(r.PeakBytes!.Value)} MiB added " +
                            $"(process peak {Mib(r.ProcessPeakBytes!.Value)} MiB, {r.Seconds:F1} s): {(r.PeakBytes <= ClaimBytes ? "fits" : "does not fit")}");
        text.AppendLine($"- naive, any layer: cannot; a single float32 [1, 8, {ClaimTime}, {ClaimTime}] map is {Gib(MemoryProbe.MapBytes(ClaimTime))}, " +
                        "and the naive kernel holds several (scores, probabilities, and in training their gradients).");
        // The longest naive measurement of each row, scaled quadratically to the claim's length.
        foreach (var longest in results.Where(r => r.Case.Kernel == AttentionKernel.Naive)
                     .GroupBy(r => (r.Case.Variant, r.Case.Pass)).Select(g => g.MaxBy(r => r.Case.Time)!))
        {
            double scale = Math.Pow((double)ClaimTime / longest.Case.Time, 2);
            text.AppendLine($"- naive {LayerVariants.Describe(longest.Case.Variant)}, {LayerSection.Name(longest.Case.Pass)}: " +
                            $"{Mib(longest.PeakBytes!.Value)} MiB at T={longest.Case.Time}, about {Gib((long)(longest.PeakBytes.Value * scale))} at T={ClaimTime} when scaled as T^2");
        }
        return text.ToString();
    }

    /// <summary>Geometric mean of peak(2T) / peak(T) over the measured lengths: about 2 is linear, about 4 quadratic.</summary>
    private static string Growth(List<(long Time, MemoryResult? Result, string? Skipped)> cells)
    {
        var measured = cells.Where(c => c.Result is { Failure: null, PeakBytes: > 0 })
            .Select(c => (c.Time, Peak: (double)c.Result!.PeakBytes!.Value)).OrderBy(c => c.Time).ToList();
        // Lengths may skip a doubling (8192 -> 16384 is one, 4096 -> 16384 two): take the rate per doubling.
        var rates = measured.Zip(measured.Skip(1), (a, b) => Math.Log(b.Peak / a.Peak) / Math.Log2((double)b.Time / a.Time)).ToList();
        return rates.Count == 0 ? "" : $"{Math.Exp(rates.Average()):F2}x";
    }

    /// <summary>The naive kernel holds at least three [1, 8, T, T] maps at once; do not start it when they exceed the cap.</summary>
    private static bool TooLarge(long time, long capBytes) => 3 * MemoryProbe.MapBytes(time) > capBytes;

    private static string Mib(long bytes) => (bytes / (1024.0 * 1024)).ToString("F0", CultureInfo.InvariantCulture);

    /// <summary>GiB with one decimal, or whole MiB below 1 GiB (so a small map never reads "0 GiB").</summary>
    private static string Gib(long bytes) => bytes < 1L << 30
        ? (bytes / (1024.0 * 1024)).ToString("0", CultureInfo.InvariantCulture) + " MiB"
        : (bytes / (1024.0 * 1024 * 1024)).ToString("0.#", CultureInfo.InvariantCulture) + " GiB";
}

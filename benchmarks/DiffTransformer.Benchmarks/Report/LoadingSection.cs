using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Loading Hugging Face checkpoints (<see cref="HuggingFaceCheckpoint.Load"/>): throughput from the page cache and the
/// peak memory a load adds, for generated checkpoints (<see cref="LoadingCheckpoints"/>) in float32 and bf16, single-file
/// and sharded, each load in a fresh child process (<see cref="LoadingProbe"/>). The claims: the added peak is at most
/// <see cref="PeakBound"/> times the model in the target dtype, and a bf16 checkpoint loaded as bfloat16 makes no float32
/// copy (which would show as at least 2x the bfloat16 model).
/// </summary>
public static class LoadingSection
{
    /// <summary>The claimed bound on the added peak, as a multiple of the model's size in the target dtype.</summary>
    public const double PeakBound = 1.25;

    /// <summary>The stored dtype and the dtype it is loaded as, in table order.</summary>
    public static readonly IReadOnlyList<(ScalarType Stored, ScalarType LoadAs)> Conversions =
        [(ScalarType.Float32, ScalarType.Float32), (ScalarType.BFloat16, ScalarType.BFloat16), (ScalarType.BFloat16, ScalarType.Float32)];

    /// <summary>Runs the section and returns its Markdown.</summary>
    public static string Run(ReportOptions options, Action<string> log)
    {
        if (!ChildProbe.Supported) return "Skipped: peak memory is read from /proc/self/status, which this OS does not have.\n";
        string root = Path.Combine(Path.GetTempPath(), "difftransformer-loading-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var checkpoints = LoadingCheckpoints.Generate(root, options.LoadingParameters, log);
            log("loading: reading the weight files once (page cache)");
            LoadingCheckpoints.ReadIntoPageCache(root);
            var loads = (from model in LoadingCheckpoints.Models
                         from conversion in Conversions
                         from checkpoint in checkpoints
                         where checkpoint.Model == model.Model && checkpoint.Stored == conversion.Stored
                         select (Checkpoint: checkpoint, conversion.LoadAs)).ToList();
            var builds = (from model in LoadingCheckpoints.Models
                          from dtype in LoadingCheckpoints.StoredTypes
                          select (model.Model, model.Kind, DType: dtype)).ToList();
            var loaded = loads.ToDictionary(c => c, _ => new List<LoadingResult>());
            var built = builds.ToDictionary(b => (b.Model, b.DType), _ => new List<LoadingResult>());
            var timeout = TimeSpan.FromMinutes(5);
            for (int round = 1; round <= options.LoadingRepeats; round++)
            {
                // Every case once per round, so that a change in machine load hits them alike.
                log($"loading: round {round}/{options.LoadingRepeats}, {loads.Count} loads and {builds.Count} builds");
                foreach (var c in loads)
                    loaded[c].Add(LoadingProbe.MeasureLoad(c.Checkpoint, c.LoadAs, options.Threads, timeout));
                foreach (var b in builds)
                {
                    var warm = checkpoints.First(c => c.Model == b.Model);
                    built[(b.Model, b.DType)].Add(LoadingProbe.MeasureBuild(warm, b.Kind, options.LoadingParameters, b.DType, options.Threads, timeout));
                }
            }
            var text = new StringBuilder();
            text.Append(LoadTable(loads.Select(c => (c.Checkpoint, c.LoadAs, loaded[c], built[(c.Checkpoint.Model, c.LoadAs)])).ToList(), options.LoadingRepeats));
            text.AppendLine();
            text.Append(BuildTable(builds.Select(b => (b.Model, b.DType, built[(b.Model, b.DType)])).ToList()));
            return text.ToString();
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static string LoadTable(List<(LoadingCheckpoint Checkpoint, ScalarType LoadAs, List<LoadingResult> Loads, List<LoadingResult> Builds)> rows, int repeats)
    {
        var text = new StringBuilder();
        text.AppendLine($"`HuggingFaceCheckpoint.Load` of generated checkpoints ({LoadingCheckpoints.Layers} layers), each load in a fresh " +
                        $"process after a warm-up load of a tiny model, the files in the page cache; medians of {repeats} rounds. " +
                        "MB/s = bytes of the weight files (10^6) / load time; build s = building the same model without a file " +
                        "(random initialisation included), which the load does before it reads; added peak = the process's peak " +
                        "resident memory during the load (VmHWM) minus its resident memory before it; model = the parameters' bytes " +
                        "in the target dtype.");
        text.AppendLine();
        text.AppendLine("| model | params | stored -> loaded as | files | weight files MB | load s | of which build s | MB/s | added peak MiB | model MiB | added peak / model |");
        text.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var ratios = new List<(string Label, ScalarType Stored, ScalarType LoadAs, double Ratio)>();
        foreach (var (checkpoint, loadAs, loads, builds) in rows)
        {
            string label = $"{Name(checkpoint.Stored)} -> {Name(loadAs)}";
            string files = checkpoint.Files == 1 ? "1" : $"{checkpoint.Files} shards";
            text.Append($"| {checkpoint.Model} | {checkpoint.Parameters:N0} | {label} | {files} | {Mb(checkpoint.FileBytes)} |");
            if (Failure(loads) is { } failure)
            {
                text.AppendLine($" failed: {failure} | | | | | |");
                continue;
            }
            var (seconds, added, model) = Medians(loads);
            string buildSeconds = Failure(builds) is null ? Medians(builds).Seconds.ToString("F2", CultureInfo.InvariantCulture) : "failed";
            ratios.Add(($"{checkpoint.Model} {label}, {files}", checkpoint.Stored, loadAs, added / model));
            text.AppendLine(FormattableString.Invariant(
                $" {seconds:F2} | {buildSeconds} | {checkpoint.FileBytes / 1e6 / seconds:F0} | {Mib(added)} | {Mib(model)} | {X(added / model)} |"));
        }
        text.AppendLine();
        text.Append(Claims(ratios));
        return text.ToString();
    }

    private static string BuildTable(List<(string Model, ScalarType DType, List<LoadingResult> Builds)> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("Building the model alone, no file (the same child process and measurement):");
        text.AppendLine();
        text.AppendLine("| model | dtype | build s | added peak MiB | model MiB | added peak / model |");
        text.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (var (model, dtype, builds) in rows)
        {
            if (Failure(builds) is { } failure)
            {
                text.AppendLine($"| {model} | {Name(dtype)} | failed: {failure} | | | |");
                continue;
            }
            var (seconds, added, bytes) = Medians(builds);
            text.AppendLine(FormattableString.Invariant($"| {model} | {Name(dtype)} | {seconds:F2} | {Mib(added)} | {Mib(bytes)} | {X(added / bytes)} |"));
        }
        return text.ToString();
    }

    private static string? Failure(List<LoadingResult> results) => results.FirstOrDefault(r => r.Failure is not null)?.Failure;

    private static (double Seconds, double AddedBytes, long ModelBytes) Medians(List<LoadingResult> results) =>
        (Timings.MedianOf(results.Select(r => r.Seconds).ToList()), Timings.MedianOf(results.Select(r => (double)r.AddedBytes).ToList()),
            results[0].ModelBytes);

    private static string Claims(List<(string Label, ScalarType Stored, ScalarType LoadAs, double Ratio)> ratios)
    {
        if (ratios.Count == 0) return "";
        var text = new StringBuilder();
        var worst = ratios.MaxBy(r => r.Ratio);
        int within = ratios.Count(r => r.Ratio <= PeakBound);
        text.AppendLine($"- added peak <= {X(PeakBound)} the model in the target dtype: {within} of {ratios.Count} rows " +
                        $"(largest {X(worst.Ratio)}, {worst.Label}): {(within == ratios.Count ? "holds" : "does not hold")}");
        var bf16 = ratios.Where(r => r.Stored == ScalarType.BFloat16 && r.LoadAs == ScalarType.BFloat16).ToList();
        if (bf16.Count > 0)
        {
            double most = bf16.Max(r => r.Ratio);
            text.AppendLine("- bf16 loaded as bfloat16 makes no float32 copy (a copy would add at least 2x the bfloat16 model): " +
                            $"at most {X(most)}: {(most < 2 ? "holds" : "does not hold")}");
        }
        return text.ToString();
    }

    private static string Name(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bf16",
        _ => type.ToString(),
    };

    private static string X(double ratio) => ratio.ToString("0.00", CultureInfo.InvariantCulture) + "x";

    private static string Mb(long bytes) => (bytes / 1e6).ToString("F1", CultureInfo.InvariantCulture);

    private static string Mib(double bytes) => (bytes / (1024.0 * 1024)).ToString("F1", CultureInfo.InvariantCulture);
}

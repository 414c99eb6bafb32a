using System.Globalization;
using System.Text;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace NeedleInAHaystack;

/// <summary>The files a report consists of.</summary>
/// <param name="Markdown">results.md: the table and the settings.</param>
/// <param name="Pictures">The PNG files.</param>
public sealed record WrittenReport(string Markdown, IReadOnlyList<string> Pictures);

/// <summary>Turns <see cref="ExperimentResults"/> into a console table, a Markdown table and PNG pictures.</summary>
public static class ReportWriter
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The column headers, in order.</summary>
    public static IReadOnlyList<string> Headers(ExperimentResults results) =>
        new[] { "model", "params", "train loss", "val loss", "accuracy" }
            .Concat(results.DepthLabels.Select(d => $"acc {d}"))
            .Concat(new[] { "attn answer", "attn distract", "attn total", "tokens/s" })
            .ToArray();

    /// <summary>One row of formatted cells per model.</summary>
    public static IReadOnlyList<string[]> Rows(ExperimentResults results) => results.Models.Select(m =>
        new[]
        {
            m.Name,
            m.Parameters.ToString("N0", Invariant),
            m.FinalTrainingLoss.ToString("F3", Invariant),
            m.Final.Loss.ToString("F3", Invariant),
            Percent(m.Final.Accuracy),
        }
        .Concat(m.Final.AccuracyByDepth.Select(Percent))
        .Concat(new[]
        {
            m.Final.Allocation.Answer.ToString("F3", Invariant),
            m.Final.Allocation.Distractors.ToString("F3", Invariant),
            m.Final.Allocation.Total.ToString("F3", Invariant),
            m.TokensPerSecond.ToString("N0", Invariant),
        }).ToArray()).ToArray();

    /// <summary>The results as a Spectre.Console table.</summary>
    public static IRenderable ConsoleTable(ExperimentResults results)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"Multi-needle retrieval after {results.Options.Steps} steps (seed {results.Options.Seed})");
        foreach (var (header, i) in Headers(results).Select((h, i) => (h, i)))
            table.AddColumn(new TableColumn(Markup.Escape(header)) { Alignment = i == 0 ? Justify.Left : Justify.Right });
        foreach (var row in Rows(results)) table.AddRow(row.Select(Markup.Escape).ToArray());
        table.Caption(Markup.Escape(Caption(results)));
        return table;
    }

    /// <summary>The results as a Markdown document: the table, what the columns mean, and the settings.</summary>
    public static string Markdown(ExperimentResults results)
    {
        var text = new StringBuilder();
        var headers = Headers(results);
        text.AppendLine("| " + string.Join(" | ", headers) + " |");
        text.AppendLine("| " + string.Join(" | ", headers.Select((_, i) => i == 0 ? "---" : "---:")) + " |");
        foreach (var row in Rows(results)) text.AppendLine("| " + string.Join(" | ", row) + " |");
        text.AppendLine();
        text.AppendLine(Caption(results));
        text.AppendLine();
        var o = results.Options;
        var t = results.Task;
        text.AppendLine(FormattableString.Invariant(
            $"Settings: {o.Steps} steps, seed {o.Seed}, device {o.Device}, {o.Threads} thread(s), batch {t.BatchSize}, sequence {t.SequenceLength} tokens, ") +
            FormattableString.Invariant(
            $"{t.NeedleCount} needles, {t.KeyCount} keys, {t.ValueCount} values{(t.KeyedValues ? " per key" : " shared by all keys")}, {t.FillerCount} filler tokens, {t.ValidationExamples} validation examples, ") +
            FormattableString.Invariant($"embed {o.EmbedDim}, {o.Layers} layers, peak learning rate {o.LearningRate}; run time {results.Elapsed.TotalSeconds:F0} s."));
        foreach (var m in results.Models)
            text.AppendLine(FormattableString.Invariant(
                $"- {m.Name}: {m.Config.Attention}, {m.Config.NumHeads} heads, head size {m.HeadDim}, SwiGLU width {m.Config.ResolvedFfnHiddenDim}, {m.Parameters:N0} parameters."));
        return text.ToString();
    }

    /// <summary>Writes results.md and the PNG pictures into <paramref name="directory"/> (created if needed).</summary>
    public static WrittenReport Write(ExperimentResults results, string directory)
    {
        ArgumentNullException.ThrowIfNull(results);
        Directory.CreateDirectory(directory);
        string markdown = Path.Combine(directory, "results.md");
        File.WriteAllText(markdown, Markdown(results));
        var pictures = new[]
        {
            Charts.LossCurves(results, Path.Combine(directory, "loss-curves.png")),
            Charts.AccuracyByDepth(results, Path.Combine(directory, "accuracy-by-depth.png")),
            Charts.AttentionHeatmaps(results, Path.Combine(directory, "attention-heatmaps.png")),
        };
        return new WrittenReport(Path.GetFullPath(markdown), pictures.Select(Path.GetFullPath).ToArray());
    }

    private static string Caption(ExperimentResults results) =>
        $"train loss: mean of the last tenth of the steps; val loss and accuracy: {results.Task.ValidationExamples} held-out examples " +
        $"({results.GuessDescription}: {100 * results.GuessAccuracy:F2}%); attn: share of the final query's attention on the answer needle and on the " +
        "rest of the context, and over all positions (total), averaged over layers and heads (differential models: the effective map A1 - lambda A2, whose rows sum to 1 - lambda).";

    private static string Percent(double value) => double.IsNaN(value) ? "n/a" : (100 * value).ToString("F1", Invariant) + "%";
}

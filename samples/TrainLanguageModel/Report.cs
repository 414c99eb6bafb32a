using System.Globalization;
using ScottPlot;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace TrainLanguageModel;

/// <summary>The run's table (console and Markdown) and its loss curve (PNG).</summary>
public static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Label and value pairs of the summary table.</summary>
    public static IReadOnlyList<(string Name, string Value)> Rows(LanguageModelResult r) => new[]
    {
        ("corpus", r.Corpus),
        ("tokenizer", $"{r.Tokenizer} (vocabulary {r.Config.VocabSize:N0})"),
        ("corpus tokens", r.CorpusTokens.ToString("N0", Invariant)),
        ("model", $"{r.Config.Attention}, embed {r.Config.EmbedDim}, {r.Config.NumLayers} layers, {r.Config.NumHeads} heads{(r.Config.TieEmbeddings ? ", tied embeddings" : "")}"),
        ("parameters", r.Parameters.ToString("N0", Invariant)),
        ("steps", r.TrainingLoss.Count.ToString(Invariant)),
        ("final training loss", r.TrainingLoss[^1].ToString("F3", Invariant)),
        ("validation loss", r.Validation.Count > 0 ? $"{r.Validation[^1].Loss.ToString("F3", Invariant)} (perplexity {Math.Exp(r.Validation[^1].Loss).ToString("F2", Invariant)})" : "n/a"),
        ("tokens per second", r.TokensPerSecond.ToString("N0", Invariant)),
        ("checkpoint", r.CheckpointDirectory),
    };

    /// <summary>The summary as a Spectre.Console table.</summary>
    public static IRenderable ConsoleTable(LanguageModelResult result)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumn("").AddColumn("");
        table.HideHeaders();
        foreach (var (name, value) in Rows(result)) table.AddRow(Markup.Escape(name), Markup.Escape(value));
        return table;
    }

    /// <summary>Writes results.md (table and generated text) and loss-curve.png into <paramref name="directory"/>; returns both paths.</summary>
    public static (string Markdown, string Picture) Write(LanguageModelResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        string markdown = Path.GetFullPath(Path.Combine(directory, "results.md"));
        var lines = new List<string> { "| | |", "| --- | --- |" };
        lines.AddRange(Rows(result).Select(r => $"| {r.Name} | {r.Value.Replace("|", "\\|")} |"));
        lines.Add("");
        lines.Add($"Prompt: `{result.Prompt}`");
        lines.Add("");
        lines.Add("```");
        lines.Add(result.Prompt + result.Generated);
        lines.Add("```");
        File.WriteAllLines(markdown, lines);

        string picture = Path.GetFullPath(Path.Combine(directory, "loss-curve.png"));
        using var plot = new Plot();
        var steps = Enumerable.Range(1, result.TrainingLoss.Count).Select(s => (double)s).ToArray();
        var training = plot.Add.ScatterLine(steps, result.TrainingLoss.ToArray(), Colors.C0);
        training.LegendText = "training";
        if (result.Validation.Count > 0)
        {
            var validation = plot.Add.Scatter(result.Validation.Select(v => (double)v.Step).ToArray(), result.Validation.Select(v => v.Loss).ToArray(), Colors.C1);
            validation.LegendText = "validation";
            validation.LineWidth = 2;
        }
        plot.Title($"{result.Config.Attention} language model on {result.Corpus}");
        plot.XLabel("step");
        plot.YLabel("cross-entropy (nats per token)");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(picture, 900, 500);
        return (markdown, picture);
    }
}

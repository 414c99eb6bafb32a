using ScottPlot;

namespace NeedleInAHaystack;

/// <summary>The PNG pictures of a run (ScottPlot). Each method writes one file and returns its path.</summary>
public static class Charts
{
    private static readonly Color[] Palette = { Colors.C0, Colors.C1, Colors.C2, Colors.C3, Colors.C4 };

    /// <summary>
    /// Training loss (moving average over a twentieth of the run), validation loss and validation accuracy of every
    /// model over the steps.
    /// </summary>
    public static string LossCurves(ExperimentResults results, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Plot training = multiplot.GetPlot(0), validation = multiplot.GetPlot(1), accuracy = multiplot.GetPlot(2);
        int window = Math.Max(1, results.Options.Steps / 20);
        for (int m = 0; m < results.Models.Count; m++)
        {
            var model = results.Models[m];
            var smooth = MovingAverage(model.TrainingLoss, window);
            var line = training.Add.ScatterLine(Enumerable.Range(1, smooth.Length).Select(s => (double)s).ToArray(), smooth, Palette[m]);
            line.LegendText = model.Name;
            line.LineWidth = 2;
            var points = validation.Add.Scatter(model.Validation.Select(v => (double)v.Step).ToArray(), model.Validation.Select(v => v.Loss).ToArray(), Palette[m]);
            points.LegendText = model.Name;
            points.LineWidth = 2;
            var hits = accuracy.Add.Scatter(model.Validation.Select(v => (double)v.Step).ToArray(), model.Validation.Select(v => 100 * v.Accuracy).ToArray(), Palette[m]);
            hits.LegendText = model.Name;
            hits.LineWidth = 2;
        }
        training.Title($"Training loss (moving average of {window} steps)");
        validation.Title("Validation loss (answer token)");
        accuracy.Title("Validation retrieval accuracy");
        foreach (var plot in new[] { training, validation })
        {
            plot.XLabel("step");
            plot.YLabel("cross-entropy (nats)");
            plot.ShowLegend(Alignment.UpperRight);
        }
        accuracy.XLabel("step");
        accuracy.YLabel("accuracy (%)");
        accuracy.Axes.SetLimitsY(0, 105);
        accuracy.ShowLegend(Alignment.LowerRight);
        multiplot.SavePng(path, 1500, 450);
        return path;
    }

    /// <summary>Final retrieval accuracy per depth bucket, one bar per model, with the overall accuracy in the legend.</summary>
    public static string AccuracyByDepth(ExperimentResults results, string path)
    {
        using var plot = new Plot();
        int models = results.Models.Count, buckets = results.Task.DepthBuckets;
        double width = 0.8 / models;
        for (int m = 0; m < models; m++)
        {
            var model = results.Models[m];
            var bars = Enumerable.Range(0, buckets).Select(b => new Bar
            {
                Position = b + (m - (models - 1) / 2.0) * width,
                Value = 100 * model.Final.AccuracyByDepth[b],
                Size = width * 0.95,
                FillColor = Palette[m],
            }).ToArray();
            plot.Add.Bars(bars).LegendText = $"{model.Name} ({100 * model.Final.Accuracy:F1}% overall)";
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, buckets).Select(b => (double)b).ToArray(), results.DepthLabels.ToArray());
        plot.Axes.SetLimitsY(0, 105);
        double guess = 100 * results.GuessAccuracy;
        var line = plot.Add.HorizontalLine(guess, 1, Colors.Gray, LinePattern.Dashed);
        line.LegendText = $"{results.GuessDescription} ({guess:F1}%)";
        plot.Title($"Retrieval accuracy by depth of the queried needle ({results.Task.ValidationExamples} validation examples)");
        plot.XLabel("depth of the needle in the context (0% = start, 100% = next to the query)");
        plot.YLabel("accuracy (%)");
        plot.ShowLegend(Edge.Right); // outside: the bars reach the top
        plot.SavePng(path, 1200, 500);
        return path;
    }

    /// <summary>
    /// One heatmap per model: the final query's effective attention (rows: layer and head; columns: the example's tokens),
    /// on one colour scale, with the answer span framed.
    /// </summary>
    public static string AttentionHeatmaps(ExperimentResults results, string path)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(results.Models.Count);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Rows();
        // One symmetric scale for all models: white is zero, red positive, blue negative (differential maps can be).
        double limit = results.Models.Max(m => m.Example.QueryRows.Max(r => r.Max(Math.Abs)));
        for (int m = 0; m < results.Models.Count; m++)
        {
            var model = results.Models[m];
            var example = model.Example;
            var plot = multiplot.GetPlot(m);
            int rows = example.QueryRows.Length, time = example.TokenLabels.Count;
            var grid = new double[rows, time];
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < time; t++) grid[r, t] = example.QueryRows[r][t];
            var heatmap = plot.Add.Heatmap(grid);
            heatmap.Colormap = new ScottPlot.Colormaps.Balance();
            heatmap.ManualRange = new ScottPlot.Range(-limit, limit);
            heatmap.Extent = new CoordinateRect(-0.5, time - 0.5, -0.5, rows - 0.5);
            plot.Add.ColorBar(heatmap);
            var frame = plot.Add.Rectangle(example.AnswerSpan.Start - 0.5, example.AnswerSpan.End - 0.5, -0.5, rows - 0.5);
            frame.FillStyle.Color = Colors.Transparent;
            frame.LineStyle.Color = Colors.Black;
            frame.LineStyle.Width = 2;
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, time).Select(t => (double)t).ToArray(), example.TokenLabels.ToArray());
            plot.Axes.Bottom.TickLabelStyle.Rotation = -90;       // 64 labels fit only upright
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
            plot.Axes.Bottom.TickLabelStyle.FontSize = 10;
            plot.Axes.Bottom.MinimumSize = 55;                     // room for the upright labels
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, rows).Select(r => (double)r).ToArray(), example.RowLabels.ToArray());
            plot.Axes.SetLimits(-0.5, time - 0.5, -0.5, rows - 0.5);
            plot.Axes.InvertY(); // first layer and head at the top
            plot.Title($"{model.Name}: final query's attention (framed: answer span), predicted {example.Predicted}, answer {example.Answer}");
        }
        multiplot.SavePng(path, 1400, 300 * results.Models.Count + 50);
        return path;
    }

    private static double[] MovingAverage(IReadOnlyList<double> values, int window)
    {
        var result = new double[values.Count];
        double sum = 0;
        for (int i = 0; i < values.Count; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}

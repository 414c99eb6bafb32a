using System.Globalization;
using DiffTransformer;
using ScottPlot;

namespace AttentionNoiseExplorer;

/// <summary>Draws one layer: a row per head with A1, A2 and A1 - lambda * A2 (and lambda per token for V2).</summary>
public static class MapCharts
{
    /// <summary>Writes the layer's picture to <paramref name="path"/> and returns the path.</summary>
    public static string Layer(AttentionKind kind, IReadOnlyList<string> labels, LayerMaps layer, string path)
    {
        bool differential = kind != AttentionKind.Softmax;
        bool perTokenLambda = kind == AttentionKind.DifferentialV2;
        int columns = differential ? (perTokenLambda ? 4 : 3) : 1;
        int rows = layer.Heads.Count;
        var multiplot = new Multiplot();
        multiplot.AddPlots(rows * columns);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        for (int r = 0; r < rows; r++)
        {
            var head = layer.Heads[r];
            string lambda = head.Lambda.Count == 1 ? $", lambda = {head.Lambda[0].ToString("F3", CultureInfo.InvariantCulture)}" : "";
            if (differential)
            {
                Heatmap(multiplot.GetPlot(r * columns), head.First!, labels, $"L{layer.Layer} H{r}: A1 (first softmax)");
                Heatmap(multiplot.GetPlot(r * columns + 1), head.Second!, labels, $"L{layer.Layer} H{r}: A2 (second softmax)");
                Heatmap(multiplot.GetPlot(r * columns + 2), head.Effective, labels, $"L{layer.Layer} H{r}: A1 - lambda A2{lambda}");
                if (perTokenLambda) LambdaLine(multiplot.GetPlot(r * columns + 3), head.Lambda, labels, $"L{layer.Layer} H{r}: lambda per query token");
            }
            else
            {
                Heatmap(multiplot.GetPlot(r), head.Effective, labels, $"L{layer.Layer} H{r}: softmax map");
            }
        }
        multiplot.SavePng(path, 480 * columns, 440 * rows);
        return path;
    }

    private static void Heatmap(Plot plot, double[,] map, IReadOnlyList<string> labels, string title)
    {
        int time = map.GetLength(0);
        var heatmap = plot.Add.Heatmap(map);
        // A diverging scale centred on zero shows the negative weights differential maps can have.
        double limit = Math.Max(1e-9, map.Cast<double>().Max(Math.Abs));
        heatmap.Colormap = new ScottPlot.Colormaps.Balance();
        heatmap.ManualRange = new ScottPlot.Range(-limit, limit);
        heatmap.Extent = new CoordinateRect(-0.5, time - 0.5, -0.5, time - 0.5);
        plot.Add.ColorBar(heatmap);
        Ticks(plot.Axes.Bottom, labels);
        Ticks(plot.Axes.Left, labels);
        plot.Axes.SetLimits(-0.5, time - 0.5, -0.5, time - 0.5);
        plot.Axes.InvertY();
        plot.Title(title, 12);
        plot.XLabel("key", 11);
        plot.YLabel("query", 11);
    }

    private static void LambdaLine(Plot plot, IReadOnlyList<double> lambda, IReadOnlyList<string> labels, string title)
    {
        var xs = Enumerable.Range(0, lambda.Count).Select(i => (double)i).ToArray();
        var line = plot.Add.Scatter(xs, lambda.ToArray());
        line.LineWidth = 2;
        Ticks(plot.Axes.Bottom, labels);
        plot.Axes.SetLimitsY(0, 1);
        plot.Title(title, 12);
        plot.XLabel("query", 11);
        plot.YLabel("lambda", 11);
    }

    private static void Ticks(IAxis axis, IReadOnlyList<string> labels)
    {
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, labels.Count).Select(i => (double)i).ToArray(), labels.ToArray());
        axis.TickLabelStyle.FontSize = 9;
    }
}

using System.Globalization;

namespace AttentionNoiseExplorer;

/// <summary>
/// One line per head: lambda and how spread out each map is. Entropy is the mean over query rows of
/// <c>-sum p log p</c> (nats) of the softmax maps; "negative" is the mean total negative weight per row of the effective map.
/// </summary>
public static class Summary
{
    /// <summary>The column names.</summary>
    public const string Header = "layer head  lambda   entropy A1  entropy A2  negative weight";

    /// <summary>The formatted lines.</summary>
    public static IEnumerable<string> Lines(ExplorerResult result)
    {
        var c = CultureInfo.InvariantCulture;
        foreach (var layer in result.Layers)
            foreach (var head in layer.Heads)
            {
                string lambda = head.Lambda.Count == 0 ? "-" : head.Lambda.Average().ToString("F3", c);
                string first = head.First is null ? Entropy(head.Effective).ToString("F3", c) : Entropy(head.First).ToString("F3", c);
                string second = head.Second is null ? "-" : Entropy(head.Second).ToString("F3", c);
                yield return $"{layer.Layer,5} {head.Head,4}  {lambda,6}   {first,10}  {second,10}  {NegativeWeight(head.Effective).ToString("F3", c),15}";
            }
    }

    /// <summary>Mean row entropy of a (causal) probability map.</summary>
    public static double Entropy(double[,] map)
    {
        int rows = map.GetLength(0), columns = map.GetLength(1);
        double total = 0;
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < columns; k++)
                if (map[r, k] > 0) total -= map[r, k] * Math.Log(map[r, k]);
        return total / rows;
    }

    /// <summary>Mean total negative weight per row.</summary>
    public static double NegativeWeight(double[,] map)
    {
        int rows = map.GetLength(0), columns = map.GetLength(1);
        double total = 0;
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < columns; k++)
                if (map[r, k] < 0) total += map[r, k];
        return total / rows;
    }
}

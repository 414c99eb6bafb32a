using DiffTransformer;
using DiffTransformer.Samples;
using TorchSharp;
using static TorchSharp.torch;

namespace AttentionNoiseExplorer;

/// <summary>The maps of one head for one prompt, <c>[time, time]</c> each (query rows, key columns).</summary>
/// <param name="Head">Head index (output heads for V2).</param>
/// <param name="Effective">The map that multiplies the values: softmax, or <c>A1 - lambda * A2</c>.</param>
/// <param name="First">A1 (differential kinds only).</param>
/// <param name="Second">A2 (differential kinds only).</param>
/// <param name="Lambda">V1: the layer's lambda (one value); V2: lambda per query token; softmax: empty.</param>
public sealed record HeadMaps(int Head, double[,] Effective, double[,]? First, double[,]? Second, IReadOnlyList<double> Lambda);

/// <summary>The maps of one layer.</summary>
/// <param name="Layer">Layer index.</param>
/// <param name="Heads">One entry per head.</param>
public sealed record LayerMaps(int Layer, IReadOnlyList<HeadMaps> Heads);

/// <summary>What the explorer computed and drew.</summary>
/// <param name="Kind">The checkpoint's attention.</param>
/// <param name="Tokenizer">The tokenizer used.</param>
/// <param name="TokenLabels">A printable label per prompt token.</param>
/// <param name="Layers">The drawn layers.</param>
/// <param name="Pictures">One PNG per layer.</param>
public sealed record ExplorerResult(AttentionKind Kind, string Tokenizer, IReadOnlyList<string> TokenLabels, IReadOnlyList<LayerMaps> Layers, IReadOnlyList<string> Pictures);

/// <summary>Loads a checkpoint, runs one prompt and collects and draws every head's maps.</summary>
public static class Explorer
{
    /// <summary>Runs the exploration and writes one PNG per layer into the output directory.</summary>
    /// <exception cref="ArgumentException">The tokenizer is unknown, the prompt too long, or the layer out of range.</exception>
    public static ExplorerResult Run(ExplorerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var model = ModelCheckpoint.Load(options.CheckpointDirectory);
        var tokenizer = SampleTokenizers.Create(options.Tokenizer ?? TokenizerFromMetadata(options.CheckpointDirectory));
        int[] ids = tokenizer.Encode(options.Prompt);
        if (ids.Length == 0) throw new ArgumentException("The prompt gives no tokens.", nameof(options));
        if (ids.Length > model.Config.MaxSequenceLength)
            throw new ArgumentException($"The prompt has {ids.Length} tokens; this model takes at most {model.Config.MaxSequenceLength}.", nameof(options));
        if (options.Layer is { } only && (only < 0 || only >= model.Config.NumLayers))
            throw new ArgumentException($"--layer must lie in [0, {model.Config.NumLayers}) for this checkpoint; got {only}.", nameof(options));

        var layers = new List<LayerMaps>();
        using var input = tensor(ids.Select(i => (long)i).ToArray(), new long[] { 1, ids.Length }); // [1, time]
        var maps = model.ComputeAttentionMaps(input);
        try
        {
            for (int layer = 0; layer < maps.Count; layer++)
                if (options.Layer is null || options.Layer == layer) layers.Add(Collect(layer, maps[layer]));
        }
        finally
        {
            foreach (var m in maps) m.Dispose();
        }

        var labels = ids.Select(id => Label(tokenizer.Decode(new[] { id }))).ToArray();
        Directory.CreateDirectory(options.OutputDirectory);
        var pictures = layers.Select(l => MapCharts.Layer(model.Config.Attention, labels, l,
            Path.GetFullPath(Path.Combine(options.OutputDirectory, $"layer-{l.Layer}.png")))).ToArray();
        return new ExplorerResult(model.Config.Attention, tokenizer.Name, labels, layers, pictures);
    }

    private static string TokenizerFromMetadata(string directory) =>
        ModelCheckpoint.ReadMetadata(directory).TryGetValue("tokenizer", out var name)
            ? name
            : throw new ArgumentException($"The checkpoint in '{directory}' names no tokenizer in its metadata; pass --tokenizer byte or cl100k.", nameof(directory));

    private static LayerMaps Collect(int layer, AttentionMaps maps)
    {
        using var scope = NewDisposeScope();
        var effective = maps.Effective[0].to(ScalarType.Float64).cpu();           // [heads, time, time]
        var first = maps.First?[0].to(ScalarType.Float64).cpu();
        var second = maps.Second?[0].to(ScalarType.Float64).cpu();
        var lambda = maps.Lambda?.to(ScalarType.Float64).cpu();                   // V1: scalar; V2: [1, heads, time]
        var heads = new List<HeadMaps>();
        for (int h = 0; h < effective.shape[0]; h++)
        {
            double[] lambdas = lambda is null ? Array.Empty<double>()
                : lambda.dim() == 0 ? new[] { lambda.item<double>() }
                : lambda[0, h].data<double>().ToArray();
            heads.Add(new HeadMaps(h, Grid(effective[h]), first is null ? null : Grid(first[h]), second is null ? null : Grid(second[h]), lambdas));
        }
        return new LayerMaps(layer, heads);
    }

    private static double[,] Grid(Tensor map)
    {
        int rows = (int)map.shape[0], columns = (int)map.shape[1];
        var values = map.contiguous().data<double>().ToArray();
        var grid = new double[rows, columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) grid[r, c] = values[r * columns + c];
        return grid;
    }

    /// <summary>A token as a tick label: spaces and line breaks made visible.</summary>
    public static string Label(string text) => text.Replace(" ", "_").Replace("\n", "\\n").Replace("\t", "\\t");
}

using System.Diagnostics;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Cached decoding of ~100M-parameter decoders against the machine's memory bandwidth (measured in the same run): a
/// batch-1 decoding step must read every weight it uses and the whole KV cache once, so <c>bytes read / bandwidth</c>
/// is its physical floor, and a row's "of limit" is that floor over the measured time per token. Also the prefill
/// against forwards of the same length, and the LibTorch calls a step makes.
/// </summary>
public static class DecodingSection
{
    /// <summary>Decoding steps timed per measurement (after the prefill).</summary>
    const int Steps = 24;

    /// <summary>The decoders: <paramref name="layers"/> layers (12: about 100M parameters) of width 768, vocabulary 8192, untied head; every kind with heads of 64.</summary>
    public static DiffTransformerConfig Config(AttentionKind kind, int layers, int maxSequenceLength = 4096) => new()
    {
        Attention = kind,
        VocabSize = 8192,
        EmbedDim = 768,
        NumLayers = layers,
        NumHeads = kind == AttentionKind.Differential ? 6 : 12,
        NumKvHeads = kind switch { AttentionKind.Differential => 6, AttentionKind.DifferentialV2 => 6, _ => 12 },
        HeadDim = kind == AttentionKind.DifferentialV2 ? 64 : null,
        MaxSequenceLength = maxSequenceLength,
        Kernel = AttentionKernel.Auto,
    };

    public static string Run(ReportOptions options, Action<string> log)
    {
        int[] positions = options.DecodingPositions.Select(p => (int)p).ToArray();
        int layers = options.DecodingLayers;
        log("decoding: memory bandwidth");
        var bandwidth = MemoryBandwidth.Measure();
        int rounds = options.Rounds ?? (options.Full ? 5 : 3);
        var text = new StringBuilder();
        text.AppendLine($"Memory bandwidth, measured first on a 1 GiB float32 tensor: sum (read) {bandwidth.SumBytesPerSecond / 1e9:F1} GB/s, " +
                        $"matrix-vector product (read) {bandwidth.MatVecBytesPerSecond / 1e9:F1} GB/s, copy {bandwidth.CopyBytesPerSecond / 1e9:F1} GB/s " +
                        $"(read + written). A decoding step reads: limit = the faster read, {bandwidth.Limit / 1e9:F1} GB/s.");
        text.AppendLine();
        text.AppendLine($"Decoders of {layers} layers, width 768, vocabulary 8192 (untied head), float32, batch 1, `Auto` kernel, greedy. " +
                        $"A step is timed {Steps} times after a prompt of the given length (median, then the median over {rounds} interleaved rounds). " +
                        "Bytes read per token = the weights a step uses (all but the embedding table, of which it reads one row) plus the " +
                        "KV cache at that length; floor = bytes / limit; of limit = floor / measured.");
        text.AppendLine();
        text.AppendLine("| attention | params | cached positions | MB read / token | floor ms | ms / token | of limit | time vs 256 | LibTorch calls / step (per layer) |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var prefill = new StringBuilder();
        prefill.AppendLine();
        prefill.AppendLine("Prefill (the prompt's pass through the cache, head on its last position) against forwards of the same length without a cache: " +
                           "under no_grad (inference) and with gradients recorded (a training forward, without the backward).");
        prefill.AppendLine();
        prefill.AppendLine("| attention | prompt | prefill ms | forward ms (no_grad) | training forward ms | prefill / forward |");
        prefill.AppendLine("|---|---:|---:|---:|---:|---:|");

        foreach (var kind in AttentionKinds.All)
        {
            manual_seed(1234);
            using var model = new DiffTransformerLM(Config(kind, layers, Math.Max(4096, positions.Max() + Steps + 8)));
            long parameters = LayerVariants.ParameterCount(model);
            double weightBytes = WeightBytesPerStep(model);
            double cacheBytesPerPosition = CacheBytesPerPosition(model);
            var step = positions.ToDictionary(p => p, _ => new List<double>());
            var prefillMs = positions.ToDictionary(p => p, _ => new List<double>());
            var forwardMs = positions.ToDictionary(p => p, _ => new List<double>());
            var trainingForwardMs = positions.ToDictionary(p => p, _ => new List<double>());
            var prompts = positions.ToDictionary(p => p, p => randint(0, model.Config.VocabSize, p).data<long>().ToArray());
            Decode(model, prompts[positions[0]], 4); // warm-up
            for (int round = 0; round < rounds; round++)
            {
                foreach (int p in positions)
                {
                    var (first, steps) = Decode(model, prompts[p], Steps);
                    prefillMs[p].Add(first);
                    step[p].Add(Timings.MedianOf(steps));
                    forwardMs[p].Add(ForwardMs(model, prompts[p], recordGradients: false));
                    trainingForwardMs[p].Add(ForwardMs(model, prompts[p], recordGradients: true));
                }
                log($"  {kind}: round {round + 1}/{rounds}");
            }
            double calls = CallsPerStep(model, prompts[positions[0]]);
            double baseMs = Timings.MedianOf(step[positions[0]]);
            foreach (int p in positions)
            {
                double bytes = weightBytes + cacheBytesPerPosition * p;
                double floorMs = 1000 * bytes / bandwidth.Limit;
                double ms = Timings.MedianOf(step[p]);
                text.AppendLine($"| {kind} | {parameters / 1e6:F1} M | {p} | {bytes / 1e6:F0} | {floorMs:F2} | {ms:F2} | {100 * floorMs / ms:F0}% | " +
                                $"{(p == positions[0] ? "1" : $"{ms / baseMs:F2}x")} | {(p == positions[0] ? $"{calls:F0} ({calls / model.Config.NumLayers:F1})" : "")} |");
                double pre = Timings.MedianOf(prefillMs[p]), fwd = Timings.MedianOf(forwardMs[p]);
                prefill.AppendLine($"| {kind} | {p} | {pre:F0} | {fwd:F0} | {Timings.MedianOf(trainingForwardMs[p]):F0} | {pre / fwd:F2} |");
            }
        }
        text.Append(prefill);
        return text.ToString();
    }

    /// <summary>Greedy decoding of <paramref name="steps"/> tokens after <paramref name="prompt"/>: (ms of the first token, which includes the prefill; ms of each later step).</summary>
    static (double First, double[] Steps) Decode(DiffTransformerLM model, long[] prompt, int steps)
    {
        var times = new double[steps + 1];
        var watch = Stopwatch.StartNew();
        foreach (var token in model.GenerateStream(prompt, new GenerationOptions { MaxNewTokens = steps + 1 }))
        {
            times[token.Index] = watch.Elapsed.TotalMilliseconds;
            watch.Restart();
        }
        return (times[0], times[1..]);
    }

    static double ForwardMs(DiffTransformerLM model, long[] prompt, bool recordGradients)
    {
        using var grad = recordGradients ? enable_grad() : no_grad();
        using var scope = NewDisposeScope();
        var tokens = tensor(prompt).unsqueeze(0);
        var watch = Stopwatch.StartNew();
        model.forward(tokens).Dispose();
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>Tensors created by one decoding step (a cache of <c>prompt.Length</c> positions): LibTorch calls that return a tensor, views included.</summary>
    static double CallsPerStep(DiffTransformerLM model, long[] prompt)
    {
        using var grad = no_grad();
        using var cache = model.CreateCache(prompt.Length + 8);
        using var scope = NewDisposeScope();
        model.forward(tensor(prompt).unsqueeze(0), cache).Dispose();
        var next = tensor(new long[] { 1 }).unsqueeze(0);
        model.forward(next, cache).Dispose(); // first step: the cache mask and buffers settle
        long before = DisposeScopeManager.Statistics.CreatedInScopeCount;
        model.forward(next, cache).Dispose();
        return DisposeScopeManager.Statistics.CreatedInScopeCount - before;
    }

    /// <summary>Bytes of the weights a step reads: every parameter, but only one row of the (untied) embedding table.</summary>
    static double WeightBytesPerStep(DiffTransformerLM model)
    {
        double bytes = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            long elements = name == "embed_tokens.weight" && !model.Config.TieEmbeddings ? p.shape[1] : p.numel();
            bytes += elements * p.element_size();
        }
        return bytes;
    }

    /// <summary>KV-cache bytes per cached position over all layers (V1 keeps keys and values of 2 * HeadDim per kv head).</summary>
    static double CacheBytesPerPosition(DiffTransformerLM model)
    {
        var attention = model.Blocks[0].Attention;
        long width = attention.Kind == AttentionKind.Differential ? 2 * attention.HeadDim : attention.HeadDim;
        return model.Config.NumLayers * attention.NumKvHeads * 2.0 * width * sizeof(float);
    }
}

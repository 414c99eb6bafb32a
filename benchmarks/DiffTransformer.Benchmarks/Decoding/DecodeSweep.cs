using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Decoding speed of the three attention kinds on a small CPU model, with and without the KV cache: tokens per second
/// for 256, 1024 and 2048 generated tokens, and the time per token as the sequence grows. Greedy decoding from a
/// one-token prompt, batch 1, float32, default kernel, TorchSharp's default thread count.
/// </summary>
internal static class DecodeSweep
{
    public static readonly int[] Lengths = { 256, 1024, 2048 };
    public static readonly int[] Positions = { 1, 64, 256, 512, 1024, 1536, 2047 };

    /// <summary>The model of the sweep: 4 layers of width 256, vocab 512; the head layouts of the paper's parameter-matched pair.</summary>
    public static DiffTransformerConfig Config(AttentionKind kind) => new()
    {
        Attention = kind,
        VocabSize = 512,
        EmbedDim = 256,
        NumLayers = 4,
        NumHeads = kind == AttentionKind.Differential ? 4 : 8, // every kind: query/key heads of 32
        MaxSequenceLength = 4096,
    };

    public sealed record KindResult(
        AttentionKind Kind, long Parameters, long CacheBytesPerToken,
        Dictionary<int, double> CachedSeconds,            // generated tokens -> seconds, measured (the longest: streamed)
        double UncachedSeconds256,                         // measured
        Dictionary<int, double> UncachedEstimateSeconds,   // generated tokens -> seconds, integrated from the per-position times
        Dictionary<int, double> CachedStepMs,              // position -> median ms per token (windows of the 2048-token run)
        Dictionary<int, double> UncachedStepMs,            // position -> median ms of a full forward over position + 1 tokens
        double CachedGrowth);                              // median ms of the last 256 cached steps / of steps 1..256

    public static KindResult Measure(AttentionKind kind, TextWriter log)
    {
        manual_seed(1);
        using var model = new DiffTransformerLM(Config(kind));
        long parameters = LayerVariants.ParameterCount(model);
        var prompt = new long[] { 1 };
        model.Generate(prompt, new GenerationOptions { MaxNewTokens = 64 }); // warm-up

        var cached = new Dictionary<int, double>();
        foreach (int n in Lengths[..^1])
        {
            var watch = Stopwatch.StartNew();
            var result = model.Generate(prompt, new GenerationOptions { MaxNewTokens = n });
            cached[n] = watch.Elapsed.TotalSeconds;
            if (result.Tokens.Count != n) throw new InvalidOperationException($"generated {result.Tokens.Count} tokens, expected {n}");
            log.WriteLine($"  {kind}: cached, {n} tokens: {cached[n]:F2} s");
        }
        // The longest run is streamed, which times every step (a token read to the host per step: negligible on the CPU).
        var cachedSteps = CachedStepTimes(model, prompt, Lengths[^1]);
        cached[Lengths[^1]] = cachedSteps.Sum() / 1000;
        log.WriteLine($"  {kind}: cached, {Lengths[^1]} tokens (streamed): {cached[Lengths[^1]]:F2} s");
        var cachedStepMs = Positions.ToDictionary(p => p, p => Median(Window(cachedSteps, p, 32)));
        double flatness = Median(cachedSteps.Skip(cachedSteps.Length - 256)) / Median(cachedSteps.Skip(1).Take(256));
        var uncachedStepMs = Positions.ToDictionary(p => p, p => UncachedStepMs(model, p));
        log.WriteLine($"  {kind}: per-position times done");

        var watch256 = Stopwatch.StartNew();
        UncachedGreedy(model, prompt, 256);
        double uncached256 = watch256.Elapsed.TotalSeconds;
        log.WriteLine($"  {kind}: uncached, 256 tokens: {uncached256:F2} s");

        var estimates = Lengths.ToDictionary(n => n, n => Integrate(uncachedStepMs, n) / 1000);
        long cacheBytes = CacheBytesPerToken(model);
        return new KindResult(kind, parameters, cacheBytes, cached, uncached256, estimates, cachedStepMs, uncachedStepMs, flatness);
    }

    /// <summary>Milliseconds of each step of a streamed generation: entry i is the step that chose token i (i = 0 includes the prompt).</summary>
    static double[] CachedStepTimes(DiffTransformerLM model, long[] prompt, int tokens)
    {
        var times = new double[tokens];
        var watch = Stopwatch.StartNew();
        foreach (var token in model.GenerateStream(prompt, new GenerationOptions { MaxNewTokens = tokens }))
        {
            times[token.Index] = watch.Elapsed.TotalMilliseconds;
            watch.Restart();
        }
        return times;
    }

    /// <summary>Median of three timed full forwards over <paramref name="position"/> + 1 tokens (after one untimed), in ms.</summary>
    static double UncachedStepMs(DiffTransformerLM model, int position)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var tokens = randint(0, model.Config.VocabSize, new long[] { 1, position + 1 });
        var samples = new double[4];
        for (int i = 0; i < samples.Length; i++)
        {
            using var inner = NewDisposeScope();
            var watch = Stopwatch.StartNew();
            model.forward(tokens)[0, -1].argmax().item<long>();
            samples[i] = watch.Elapsed.TotalMilliseconds;
        }
        return Median(samples.Skip(1));
    }

    /// <summary>Greedy decoding without a cache: every step runs the whole sequence again and takes the argmax of the last logits.</summary>
    public static long[] UncachedGreedy(DiffTransformerLM model, long[] prompt, int newTokens)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var sequence = tensor(prompt).unsqueeze(0);
        for (int i = 0; i < newTokens; i++)
        {
            using var step = NewDisposeScope();
            var next = model.forward(sequence)[.., -1].argmax(-1, keepdim: true);
            var previous = sequence;
            sequence = cat(new[] { sequence, next }, 1).MoveToOuterDisposeScope();
            previous.Dispose(); // only the current sequence stays alive, not every step's
        }
        return sequence[0, 1..].data<long>().ToArray();
    }

    /// <summary>Sum of the per-token times of positions 0..n-1, linearly interpolated between the measured positions (ms).</summary>
    static double Integrate(Dictionary<int, double> msAt, int n)
    {
        var points = msAt.OrderBy(p => p.Key).ToArray();
        double total = 0;
        for (int t = 0; t < n; t++)
        {
            int right = Array.FindIndex(points, p => p.Key >= t);
            if (right <= 0) { total += points[right < 0 ? ^1 : 0].Value; continue; }
            var (a, b) = (points[right - 1], points[right]);
            total += a.Value + (b.Value - a.Value) * (t - a.Key) / (b.Key - a.Key);
        }
        return total;
    }

    /// <summary>Bytes one position occupies in the cache (all layers, float32), computed from the layout the attention stores.</summary>
    static long CacheBytesPerToken(DiffTransformerLM model)
    {
        var attention = model.Blocks[0].Attention;
        long keyDim = attention.Kind == AttentionKind.Differential ? 2 * attention.HeadDim : attention.HeadDim;
        long valueDim = keyDim;
        return model.Config.NumLayers * attention.NumKvHeads * (keyDim + valueDim) * sizeof(float);
    }

    static IEnumerable<double> Window(double[] steps, int position, int half) =>
        steps.Skip(Math.Max(1, position - half)).Take(2 * half + 1); // step 0 includes the prompt

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

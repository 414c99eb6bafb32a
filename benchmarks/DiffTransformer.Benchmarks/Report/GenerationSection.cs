using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// KV-cached greedy generation with the training section's three models (same parameter count), side by side: tokens
/// per second and the time ratio to the softmax model. The per-position curve and the uncached comparison are in the
/// decode sweep (docs/generation.md).
/// </summary>
public static class GenerationSection
{
    /// <summary>Runs the section and returns its Markdown.</summary>
    public static string Run(ReportOptions options, Action<string> log)
    {
        int[] lengths = options.Full ? new[] { 256, 1024 } : new[] { 256 };
        bool cudaPresent = cuda.is_available();
        var text = new StringBuilder();
        text.AppendLine($"The training section's decoders ({TrainingSection.Layers} layers, embed 512, vocabulary {TrainingSection.Vocab}), " +
                        "float32, batch 1, greedy from an 8-token prompt, KV cache, fused kernels; time = prefill plus all steps.");
        text.AppendLine();
        text.Append("| new tokens | attention | params | ms / token | tokens / s | time / softmax |");
        text.AppendLine(cudaPresent ? " CUDA tokens / s | CUDA time / softmax |" : "");
        text.Append("|---:|---|---:|---:|---:|---:|");
        text.AppendLine(cudaPresent ? "---:|---:|" : "");
        foreach (int length in lengths)
        {
            log($"generation: {length} new tokens");
            var parameters = new Dictionary<AttentionKind, long>();
            var cpu = Measure(options, length, CPU, parameters, log);
            var gpu = cudaPresent ? Measure(options, length, CUDA, null, log) : null;
            foreach (var kind in AttentionKinds.All)
            {
                string key = kind.ToString(), baseline = AttentionKind.Softmax.ToString();
                double ms = cpu.Median(key) / length;
                text.Append($"| {length} | {kind} | {parameters[kind]:N0} | {ms:F1} | {1000 / ms:F0} | {cpu.RatioText(key, baseline)} |");
                if (gpu is not null) text.Append($" {1000 * length / gpu.Median(key):F0} | {gpu.RatioText(key, baseline)} |");
                text.AppendLine();
            }
        }
        return text.ToString();
    }

    private static Timings Measure(ReportOptions options, int length, Device device, Dictionary<AttentionKind, long>? parameters, Action<string> log)
    {
        var models = new List<DiffTransformerLM>();
        try
        {
            var cases = new List<TimedCase>();
            var prompt = Enumerable.Range(1, 8).Select(i => (long)i).ToList();
            var generation = new GenerationOptions { MaxNewTokens = length };
            foreach (var kind in AttentionKinds.All)
            {
                manual_seed(1234);
                var model = new DiffTransformerLM(TrainingWorkload.Config(kind, 2048, TrainingSection.Layers, TrainingSection.Vocab));
                model.to(device);
                models.Add(model);
                if (parameters is not null) parameters[kind] = LayerVariants.ParameterCount(model);
                cases.Add(new TimedCase(kind.ToString(), () => model.Generate(prompt, generation)));
            }
            int warmup = 1, rounds = options.Full ? 5 : 3;
            return InterleavedTimer.Measure(cases, warmup, rounds, p => log($"  {device.type} {p}"));
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }
}

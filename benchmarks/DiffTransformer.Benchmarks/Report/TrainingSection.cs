using System.Text;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Whole-decoder training steps for the three attention kinds at the same parameter count, side by side: tokens per
/// second and the time ratio to the softmax model.
/// </summary>
public static class TrainingSection
{
    /// <summary>Model depth used by the report.</summary>
    public const int Layers = 4;

    /// <summary>Vocabulary used by the report.</summary>
    public const int Vocab = 8192;

    /// <summary>Runs the section and returns its Markdown.</summary>
    public static string Run(ReportOptions options, Action<string> log)
    {
        var times = options.Full ? new long[] { 1024, 2048 } : new long[] { 1024 };
        bool cudaPresent = cuda.is_available();
        var text = new StringBuilder();
        text.AppendLine($"Decoder of {Layers} layers, embed 512, SwiGLU 1376, vocabulary {Vocab}, batch 1, float32, fused kernels, AdamW; " +
                        "one step = forward, next-token loss, backward, optimizer step.");
        text.AppendLine();
        text.Append("| time | attention | params | ms / step | tokens / s | step time / softmax |");
        text.AppendLine(cudaPresent ? " CUDA tokens / s | CUDA step time / softmax |" : "");
        text.Append("|---:|---|---:|---:|---:|---:|");
        text.AppendLine(cudaPresent ? "---:|---:|" : "");
        foreach (long time in times)
        {
            log($"training: time {time}");
            var parameters = new Dictionary<AttentionKind, long>();
            var cpu = Measure(options, time, CPU, parameters, log);
            var gpu = cudaPresent ? Measure(options, time, CUDA, null, log) : null;
            foreach (var kind in AttentionKinds.All)
            {
                string key = kind.ToString(), baseline = AttentionKind.Softmax.ToString();
                double ms = cpu.Median(key);
                text.Append($"| {time} | {kind} | {parameters[kind]:N0} | {ms:F0} | {time * 1000 / ms:F0} | {cpu.RatioText(key, baseline)} |");
                if (gpu is not null) text.Append($" {time * 1000 / gpu.Median(key):F0} | {gpu.RatioText(key, baseline)} |");
                text.AppendLine();
            }
        }
        return text.ToString();
    }

    private static Timings Measure(ReportOptions options, long time, Device device, Dictionary<AttentionKind, long>? parameters, Action<string> log)
    {
        var workloads = new List<TrainingWorkload>();
        try
        {
            var cases = new List<TimedCase>();
            foreach (var kind in AttentionKinds.All)
            {
                var workload = new TrainingWorkload(kind, time, Layers, Vocab, device: device);
                workloads.Add(workload);
                if (parameters is not null) parameters[kind] = workload.Parameters;
                cases.Add(new TimedCase(kind.ToString(), workload.Step));
            }
            int warmup = options.Full ? 3 : 2, rounds = options.Full ? 8 : 4;
            return InterleavedTimer.Measure(cases, warmup, rounds, p => log($"  {device.type} {p}"));
        }
        finally
        {
            foreach (var w in workloads) w.Dispose();
        }
    }
}

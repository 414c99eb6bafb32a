using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Times every layer variant with both kernels at each length, side by side, and tabulates milliseconds and ratios to
/// each variant's softmax baseline (same kernel, same round). A CUDA column appears when a GPU is present.
/// </summary>
public static class LayerSection
{
    /// <summary>Runs the section and returns its Markdown.</summary>
    public static string Run(ReportOptions options, Action<string> log)
    {
        bool cudaPresent = cuda.is_available();
        var results = new Dictionary<(LayerPass, long), (Timings Cpu, Timings? Cuda)>();
        var parameters = new Dictionary<LayerVariant, long>();
        foreach (long time in options.LayerTimes)
        {
            foreach (var pass in new[] { LayerPass.Forward, LayerPass.ForwardBackward })
            {
                log($"layers: time {time}, {Name(pass)}");
                var cpu = Measure(options, time, pass, CPU, parameters, log);
                var gpu = cudaPresent ? Measure(options, time, pass, CUDA, null, log) : null;
                results[(pass, time)] = (cpu, gpu);
            }
        }

        var text = new StringBuilder();
        foreach (var pass in new[] { LayerPass.ForwardBackward, LayerPass.Forward })
        {
            text.AppendLine($"### {Name(pass)}, float32, batch 1, embed 512");
            text.AppendLine();
            text.Append("| time | layer | params | naive ms | fused ms | auto ms | auto / faster | auto ran | naive / baseline | fused / baseline | fused speed-up over naive |");
            text.AppendLine(cudaPresent ? " CUDA fused ms | CUDA fused / baseline |" : "");
            text.Append("|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|");
            text.AppendLine(cudaPresent ? "---:|---:|" : "");
            foreach (long time in options.LayerTimes)
            {
                var (cpu, gpu) = results[(pass, time)];
                foreach (var variant in LayerVariants.All)
                {
                    var baseline = LayerVariants.BaselineOf(variant);
                    string Ratio(Timings t, AttentionKernel k) => t.RatioText(Key(variant, k), Key(baseline, k));
                    bool naive = cpu.Has(Key(variant, AttentionKernel.Naive));
                    string fusedMs = $"{cpu.Median(Key(variant, AttentionKernel.Fused)):F1}";
                    text.Append($"| {time} | {LayerVariants.Describe(variant)} | {parameters[variant]:N0} ");
                    text.Append(naive ? $"| {cpu.Median(Key(variant, AttentionKernel.Naive)):F1} | {fusedMs} " : $"| (full run) | {fusedMs} ");
                    text.Append($"| {cpu.Median(Key(variant, AttentionKernel.Auto)):F1} | {AutoOverFaster(cpu, variant):F2}x | {AutoRan(variant, time, pass)} ");
                    text.Append(naive ? $"| {Ratio(cpu, AttentionKernel.Naive)} " : "| ");
                    text.Append($"| {Ratio(cpu, AttentionKernel.Fused)} ");
                    text.Append(naive ? $"| {cpu.Median(Key(variant, AttentionKernel.Naive)) / cpu.Median(Key(variant, AttentionKernel.Fused)):F2}x |" : "| |");
                    if (gpu is not null)
                        text.Append($" {gpu.Median(Key(variant, AttentionKernel.Fused)):F2} | {Ratio(gpu, AttentionKernel.Fused)} |");
                    text.AppendLine();
                }
            }
            text.AppendLine();
        }
        return text.ToString();
    }

    /// <summary>The kernel Auto runs for this layer's timed call (batch 1), as the layer itself resolves it.</summary>
    static string AutoRan(LayerVariant variant, long time, LayerPass pass)
    {
        using var layer = LayerVariants.Create(variant, AttentionKernel.Auto);
        return layer.KernelFor(1, time, 0, recordsGradients: pass == LayerPass.ForwardBackward) == AttentionKernel.Naive ? "naive" : "fused";
    }

    /// <summary>The key of one timed case.</summary>
    public static string Key(LayerVariant variant, AttentionKernel kernel) => $"{variant}/{kernel}";

    /// <summary>A pass's name in the report.</summary>
    public static string Name(LayerPass pass) => pass == LayerPass.Forward ? "Forward (inference)" : "Forward + backward (training)";

    /// <summary>
    /// Median over rounds of auto's time over, in the same round, the time of the kernel that is faster over all rounds
    /// (by median; fused alone where naive was not timed): 1.00x = auto took the faster kernel. Dividing by the faster
    /// of the two times of each round instead would be biased: the smaller of two noisy times of equal kernels is below
    /// either one's median, so auto would read slower than it is exactly where the kernels tie.
    /// </summary>
    public static double AutoOverFaster(Timings t, LayerVariant variant)
    {
        var auto = t.Samples(Key(variant, AttentionKernel.Auto));
        var faster = t.Samples(Key(variant, AttentionKernel.Fused));
        if (t.Has(Key(variant, AttentionKernel.Naive)) && t.Median(Key(variant, AttentionKernel.Naive)) < t.Median(Key(variant, AttentionKernel.Fused)))
            faster = t.Samples(Key(variant, AttentionKernel.Naive));
        var ratios = auto.Select((a, i) => a / faster[i]).ToList();
        return Timings.MedianOf(ratios);
    }

    /// <summary>
    /// Times every variant with every kernel (naive where <see cref="ReportOptions.TimesNaive"/>; auto as the library
    /// chooses) in one interleaved set of rounds, so that the kernels' ratios are taken under the same load.
    /// </summary>
    private static Timings Measure(ReportOptions options, long time, LayerPass pass, Device device,
        Dictionary<LayerVariant, long>? parameters, Action<string> log)
    {
        // Short calls are repeated within a sample (about 100 ms of work or more), so that a sample is not one timer tick of noise.
        int repeats = time <= 128 ? 16 : time <= 256 ? 8 : time <= 512 ? 3 : 1;
        var workloads = new List<LayerWorkload>();
        try
        {
            var cases = new List<TimedCase>();
            foreach (var kernel in new[] { AttentionKernel.Fused, AttentionKernel.Naive, AttentionKernel.Auto })
            {
                if (kernel == AttentionKernel.Naive && (!options.TimesNaive(time) || device.type != DeviceType.CPU)) continue;
                foreach (var variant in LayerVariants.All)
                {
                    var workload = new LayerWorkload(variant, kernel, time, device: device);
                    workloads.Add(workload);
                    if (parameters is not null) parameters[variant] = workload.Parameters;
                    cases.Add(new TimedCase(Key(variant, kernel), () =>
                    {
                        for (int r = 0; r < repeats; r++) workload.Run(pass);
                    }));
                }
            }
            var timings = InterleavedTimer.Measure(cases, options.WarmupRounds(time), options.TimedRounds(time),
                p => log($"  {device.type} {p}"));
            return new Timings(cases.ToDictionary(c => c.Key, c => timings.Samples(c.Key).Select(ms => ms / repeats).ToList()));
        }
        finally
        {
            foreach (var w in workloads) w.Dispose();
        }
    }
}

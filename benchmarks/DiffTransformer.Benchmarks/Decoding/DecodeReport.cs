using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace DiffTransformer.Benchmarks;

/// <summary>Formats the results of <see cref="DecodeSweep"/> as Markdown tables.</summary>
internal static class DecodeReport
{
    public static string Markdown(IReadOnlyList<DecodeSweep.KindResult> results, TimeSpan elapsed)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        var config = DecodeSweep.Config(AttentionKind.Softmax);
        text.AppendLine(c, $"Decode sweep, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical CPUs, " +
                           $"{RuntimeInformation.FrameworkDescription}, TorchSharp threads {torch.get_num_threads()}; sweep took {elapsed.TotalSeconds:F0} s.");
        text.AppendLine(c, $"Model: {config.NumLayers} layers, width {config.EmbedDim}, vocab {config.VocabSize}, float32, batch 1, greedy from a 1-token prompt.");
        text.AppendLine();
        text.AppendLine(c, $"Tokens per second (cached: measured, {DecodeSweep.Lengths[^1]} with the stream; uncached: 256 measured, longer runs integrated from the per-position times, marked ~):");
        text.AppendLine();
        text.AppendLine("| attention | params | cache bytes/token | new tokens | cached tok/s | uncached tok/s | speed-up |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
        foreach (int n in DecodeSweep.Lengths)
        {
            double cachedRate = n / r.CachedSeconds[n];
            bool measured = n == 256;
            double uncachedRate = n / (measured ? r.UncachedSeconds256 : r.UncachedEstimateSeconds[n]);
            text.AppendLine(c, $"| {r.Kind} | {r.Parameters / 1e6:F2} M | {r.CacheBytesPerToken} | {n} | {cachedRate:F0} | {(measured ? "" : "~")}{uncachedRate:F1} | {(measured ? "" : "~")}{cachedRate / uncachedRate:F0}x |");
        }
        text.AppendLine();
        text.AppendLine("Check of the integration: uncached 256 tokens, measured vs integrated from the per-position times (s):");
        text.AppendLine();
        foreach (var r in results)
            text.AppendLine(c, $"- {r.Kind}: {r.UncachedSeconds256:F2} measured, {r.UncachedEstimateSeconds[256]:F2} integrated");
        text.AppendLine();
        text.AppendLine("Milliseconds per generated token at a position (cached: median of the 65 steps around it in the 2048-token run; uncached: median of 3 full forwards):");
        text.AppendLine();
        text.Append("| attention | mode |");
        foreach (int p in DecodeSweep.Positions) text.Append(c, $" {p} |");
        text.AppendLine();
        text.Append("| --- | --- |");
        foreach (int _ in DecodeSweep.Positions) text.Append(" ---: |");
        text.AppendLine();
        foreach (var r in results)
        {
            foreach (var (mode, values) in new[] { ("cached", r.CachedStepMs), ("uncached", r.UncachedStepMs) })
            {
                text.Append(c, $"| {r.Kind} | {mode} |");
                foreach (int p in DecodeSweep.Positions) text.Append(c, $" {values[p]:F2} |");
                text.AppendLine();
            }
        }
        text.AppendLine();
        text.AppendLine("Growth of the cached time per token: median of the last 256 steps of the 2048-token run over the median of steps 1-256 (1.0 = flat):");
        text.AppendLine();
        foreach (var r in results)
            text.AppendLine(c, $"- {r.Kind}: {r.CachedGrowth:F2}");
        return text.ToString();
    }
}

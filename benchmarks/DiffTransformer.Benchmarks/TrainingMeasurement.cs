using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/DiffTransformer.Benchmarks -- training [steps] [embed] [layers] [batch] [time]</c>:
/// trains a byte-level V1 model in float32 and in bfloat16 (float32 masters) on a generated corpus and prints, every
/// tenth of the run, the process's resident memory, TorchSharp's live tensor count, the median step time and the
/// validation loss. This is where the memory and speed of the training loop are measured (tests only check bounds).
/// </summary>
internal static class TrainingMeasurement
{
    public static void Run(string[] args)
    {
        if (Environment.GetEnvironmentVariable("DIFFTRANSFORMER_THREADS") is { } threads) set_num_threads(int.Parse(threads));
        int steps = Arg(args, 0, 1000), embed = Arg(args, 1, 16), layers = Arg(args, 2, 1), batch = Arg(args, 3, 2), time = Arg(args, 4, 8);
        Console.WriteLine($"threads {get_num_threads()}, {steps} steps, embed {embed}, layers {layers}, batch {batch} x time {time}");
        var text = string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i % 97} says {(i * 7919) % 1000}. "));
        using var data = new TokenBatches(ByteTokenizer.Instance.Encode(text), batch, time, validationFraction: 0.05, seed: 1);
        foreach (var precision in new[] { TrainingPrecision.Float32, TrainingPrecision.BFloat16 })
        {
            manual_seed(1);
            var config = new DiffTransformerConfig
            {
                Attention = AttentionKind.Differential, VocabSize = 256, EmbedDim = embed, NumLayers = layers,
                NumHeads = Math.Max(1, embed / 16), MaxSequenceLength = Math.Max(time, 16),
            };
            using var model = new DiffTransformerLM(config);
            var options = new TrainingOptions { Steps = steps, WarmupSteps = steps / 20, MaxEvaluationBatches = 4, Precision = precision };
            using var trainer = new Trainer(model, data, options);
            Console.WriteLine($"\n{precision}: step  RSS MiB  live tensors  median ms/step  tokens/s  val loss");
            var times = new List<double>();
            for (int step = 1; step <= steps; step++)
            {
                var report = trainer.Step();
                times.Add(batch * time / report.TokensPerSecond * 1000);
                if (step % Math.Max(1, steps / 10) != 0) continue;
                double loss = trainer.Evaluate().Loss;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                using var process = Process.GetCurrentProcess();
                double median = times.Order().ElementAt(times.Count / 2);
                Console.WriteLine($"{step,16} {process.WorkingSet64 / 1048576.0,8:F1} {DisposeScopeManager.Statistics.ThreadTotalLiveCount,13} " +
                                  $"{median,15:F2} {batch * time / median * 1000,9:F0} {loss,9:F3}");
                times.Clear();
            }
        }
    }

    private static int Arg(string[] args, int index, int fallback) => args.Length > index ? int.Parse(args[index]) : fallback;
}

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// Whole-model training step, float32 on the CPU: 4 layers, embed 512, vocabulary 8192, batch 1, time 1024, the three
/// attention kinds at the same parameter count (see <see cref="TrainingWorkload.Config"/>). Tokens per second is
/// <c>1024 / mean</c>.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 8)] // one call per iteration: calls take 10 ms to seconds
public class TrainingStepBenchmarks
{
    private TrainingWorkload? workload;

    /// <summary>The attention kind of every layer.</summary>
    [ParamsAllValues]
    public AttentionKind Kind { get; set; }

    /// <summary>Tokens per sequence.</summary>
    [Params(1024)]
    public int Time { get; set; }

    /// <summary>Builds the model and optimizer.</summary>
    [GlobalSetup]
    public void Setup() => workload = new TrainingWorkload(Kind, Time, layers: 4, vocab: 8192);

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup() => workload?.Dispose();

    /// <summary>One training step.</summary>
    [Benchmark]
    public void Step() => workload!.Step();
}

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace DiffTransformer.Benchmarks;

/// <summary>
/// One attention layer, float32 on the CPU, batch 1, embed 512, head size 64: forward (inference) and
/// forward+backward (training), naive and fused kernels, time 256 to 4096. Divide a differential variant's time by its
/// <see cref="LayerVariants.BaselineOf"/> to get the ratios of docs/benchmarks.md (the <c>report</c> command does that
/// side by side).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 8)] // one call per iteration: calls take 10 ms to seconds
public class AttentionLayerBenchmarks
{
    private LayerWorkload? workload;

    /// <summary>Which layer.</summary>
    [ParamsAllValues]
    public LayerVariant Variant { get; set; }

    /// <summary>Which kernel.</summary>
    [Params(AttentionKernel.Naive, AttentionKernel.Fused)]
    public AttentionKernel Kernel { get; set; }

    /// <summary>Sequence length.</summary>
    [Params(256, 1024, 2048, 4096)]
    public int Time { get; set; }

    /// <summary>Builds the layer and its input.</summary>
    [GlobalSetup]
    public void Setup() => workload = new LayerWorkload(Variant, Kernel, Time);

    /// <summary>Frees the layer.</summary>
    [GlobalCleanup]
    public void Cleanup() => workload?.Dispose();

    /// <summary>Inference forward.</summary>
    [Benchmark]
    public void Forward() => workload!.Run(LayerPass.Forward);

    /// <summary>Forward and backward.</summary>
    [Benchmark]
    public void ForwardBackward() => workload!.Run(LayerPass.ForwardBackward);
}

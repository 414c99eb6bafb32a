using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Training;

/// <summary>
/// Training and evaluation loops of a tiny model must not leak: no tensor handle may stay alive (TorchSharp counts
/// every tensor created and disposed on this thread) and native memory (process RSS minus the .NET heap's committed
/// bytes) must stay flat. Leaking just one step's logits (64 KiB here) would add 64 MiB over 1000 steps; the first run
/// in a process shows up to about 10 MiB of one-off warm-up, hence the 24 MiB bound. A control test checks that a
/// real leak is seen.
/// </summary>
public sealed class MemoryTests
{
    [Theory]
    [InlineData(TrainingPrecision.Float32, 1000)]
    [InlineData(TrainingPrecision.BFloat16, 300)]
    public void TrainingAndEvaluationLoopsLeakNothing(TrainingPrecision precision, int steps)
    {
        using var data = new TokenBatches(Corpus.Bytes(100), batchSize: 4, time: 16, seed: 1);
        var (live, grown, samples) = Measure(data, precision, steps);
        TestContext.Current.TestOutputHelper?.WriteLine($"live tensors {live:+0;-0;0}; native MiB every 100 steps: {samples}");
        Assert.Equal(0, live);
        Assert.True(grown < 24, $"native memory grew by {grown:F1} MiB over {steps} steps: {samples}");
    }

    [Fact]
    public void ControlALeakingLoopIsCaught()
    {
        using var data = new LeakingData(new TokenBatches(Corpus.Bytes(100), batchSize: 4, time: 16, seed: 1));
        var (live, grown, samples) = Measure(data, TrainingPrecision.Float32, 100);
        Assert.Equal(100, live);           // one 256 KiB tensor kept per step
        Assert.True(grown > 20, $"a 25 MiB leak grew native memory by only {grown:F1} MiB: {samples}");
    }

    private static (long Live, double Grown, string Samples) Measure(ITrainingData data, TrainingPrecision precision, int steps)
    {
        var config = new DiffTransformerConfig
        {
            Attention = AttentionKind.Differential, VocabSize = 256, EmbedDim = 16, NumLayers = 1, NumHeads = 2, MaxSequenceLength = 16,
        };
        manual_seed(1);
        using var model = new DiffTransformerLM(config);
        var options = new TrainingOptions { Steps = steps + 200, WarmupSteps = 10, MaxEvaluationBatches = 2, Precision = precision };
        using var trainer = new Trainer(model, data, options);
        {
            for (int i = 0; i < 100; i++) trainer.Step(); // optimizer state, gradients and allocator pools exist from here on
            trainer.Evaluate();
            long liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var native = new List<double> { NativeMiB() };
            for (int i = 1; i <= steps; i++)
            {
                trainer.Step();
                if (i % 100 != 0) continue;
                trainer.Evaluate();
                native.Add(NativeMiB());
            }
            long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount - liveBefore;
            return (live, native.Max() - native[0], string.Join(" ", native.Select(v => v.ToString("F1"))));
        }
    }

    /// <summary>Resident memory not held by the .NET heap, after a full collection.</summary>
    private static double NativeMiB()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return (process.WorkingSet64 - GC.GetGCMemoryInfo().TotalCommittedBytes) / (1024.0 * 1024.0);
    }

    /// <summary>Training data that forgets to free a 256 KiB tensor with every training batch.</summary>
    private sealed class LeakingData(TokenBatches inner) : ITrainingData, IDisposable
    {
        private readonly List<Tensor> kept = new();

        public TrainingBatch GetTrainingBatch(long index, Device device)
        {
            var leaked = ones(64 * 1024).DetachFromDisposeScope();
            kept.Add(leaked); // referenced, so neither GC nor finalizers free it
            return inner.GetTrainingBatch(index, device);
        }

        public IEnumerable<TrainingBatch> GetValidationBatches(Device device) => inner.GetValidationBatches(device);

        public void Dispose()
        {
            foreach (var t in kept) t.Dispose();
            inner.Dispose();
        }
    }
}

#pragma warning disable xUnit1051 // each generation here takes milliseconds; the workers wait with timeouts of their own
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests;

/// <summary>
/// Weight updates and inference never overlap: a training step while a generation runs is refused (weights untouched,
/// the generation completes with the old weights), inference while an update runs is refused, and a cache filled before
/// an update (or by another model) is refused until it is reset. Overlap is made with events, never with sleeps.
/// </summary>
public class ConcurrentTrainingRefusalTests
{
    static readonly GenerationOptions Options = new() { MaxNewTokens = 6 };
    static readonly long[] Prompt = Corpus.Bytes(2).Take(10).Select(b => (long)b).ToArray();

    static TrainingOptions Training => new() { Steps = 3, WarmupSteps = 0, LearningRate = 1e-2 };

    static DiffTransformerLM ByteModel(AttentionKind kind, long seed = 11)
    {
        manual_seed(seed);
        return new DiffTransformerLM(Corpus.ByteConfig(kind));
    }

    [Theory]
    [InlineData(AttentionKind.Softmax)]
    [InlineData(AttentionKind.Differential)]
    [InlineData(AttentionKind.DifferentialV2)]
    public void ATrainingStepIsRefusedWhileAStreamIsOpenAndTheStreamCompletes(AttentionKind kind)
    {
        using var scope = NewDisposeScope();
        using var model = ByteModel(kind);
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        using var trainer = new Trainer(model, data, Training);
        var expected = model.GenerateStream(Prompt, Options).ToList();
        var before = Snapshot(model);

        using var open = new ManualResetEventSlim();
        using var tried = new ManualResetEventSlim();
        var streamed = new List<GeneratedToken>();
        var worker = Workers.Start(() =>
        {
            foreach (var token in model.GenerateStream(Prompt, Options))
            {
                streamed.Add(token);
                if (streamed.Count != 1) continue;
                open.Set();
                Workers.Await(tried, "the training step");
            }
        });
        Workers.Await(open, "the stream's first token");

        var refused = Assert.Throws<InvalidOperationException>(() => trainer.Step());
        Assert.Contains("Trainer.Step cannot change the weights", refused.Message);
        Assert.Contains("while inference runs on it", refused.Message);
        Assert.Equal(0, trainer.CompletedSteps);
        Assert.True(SameWeights(before, model), "the refused step changed the weights");
        // Readers share the model: an evaluation (which switches it to eval mode and back) runs meanwhile.
        Assert.True(double.IsFinite(trainer.Evaluate().Loss));
        tried.Set();
        Workers.Join(worker);
        Assert.Equal(expected, streamed);

        // Once the stream has ended, the same step goes through.
        trainer.Step();
        Assert.Equal(1, trainer.CompletedSteps);
        Assert.False(SameWeights(before, model), "the step after the stream should change the weights");
    }

    [Fact]
    public void InferenceIsRefusedWhileAWeightUpdateRuns()
    {
        using var model = ByteModel(AttentionKind.Differential);
        var expected = model.Generate(Prompt, Options).Tokens;
        using var cache = model.CreateCache();
        model.WeightGuard.EnterUpdate("Trainer.Step"); // what Trainer.Step holds around the optimizer update
        try
        {
            Workers.Join(Workers.Start(() =>
            {
                using var tokens = tensor(Prompt, new long[] { 1, Prompt.Length });
                long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
                AssertRefusedByUpdate(() => model.Generate(Prompt, Options));
                AssertRefusedByUpdate(() => model.GenerateStream(Prompt, Options).First());
                AssertRefusedByUpdate(() => model.GenerateStreamAsync(Prompt, Options).ToBlockingEnumerable().First());
                AssertRefusedByUpdate(() => { using (no_grad()) model.forward(tokens).Dispose(); });
                AssertRefusedByUpdate(() => { using (no_grad()) model.forward(tokens, cache).Dispose(); });
                AssertRefusedByUpdate(() => model.Loss(tokens, tokens).Dispose());
                Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount); // the refusals leave nothing behind
            }));
            // Another update is refused too.
            var second = Assert.Throws<InvalidOperationException>(() => ModuleWeights.Load(model, new Dictionary<string, Tensor>(), strict: false));
            Assert.Contains("while Trainer.Step is changing them", second.Message);
        }
        finally
        {
            model.WeightGuard.ExitUpdate();
        }
        Assert.Equal(expected, model.Generate(Prompt, Options, cache).Tokens); // the refused calls left the cache usable
    }

    [Fact]
    public void ACacheFilledBeforeAWeightUpdateOrByAnotherModelIsRefusedUntilReset()
    {
        using var scope = NewDisposeScope();
        using var model = ByteModel(AttentionKind.DifferentialV2);
        using var twin = ByteModel(AttentionKind.DifferentialV2);
        using var data = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16, seed: 5);
        using var trainer = new Trainer(model, data, Training);
        using var cache = model.CreateCache();
        var prompt = tensor(Prompt).unsqueeze(0);
        var next = tensor(new long[] { 7 }).unsqueeze(0);
        using (no_grad()) model.forward(prompt, cache);
        var other = Assert.Throws<InvalidOperationException>(() => twin.forward(next, cache));
        Assert.Contains("computed by another DiffTransformerLM", other.Message);

        trainer.Step();
        using var noGrad = no_grad();
        var stale = Assert.Throws<InvalidOperationException>(() => model.forward(next, cache));
        Assert.Contains($"holds {Prompt.Length} positions computed with weights the model no longer has (weight version", stale.Message);
        Assert.Equal(Prompt.Length, cache.Length); // the refused calls added nothing

        cache.Reset();
        var fresh = model.forward(prompt, cache);
        Assert.True(Bits.Same(model.forward(prompt), fresh));
        model.forward(next, cache);
        Assert.Equal(Prompt.Length + 1, cache.Length);
    }

    static void AssertRefusedByUpdate(Action call)
    {
        var e = Assert.Throws<InvalidOperationException>(call);
        Assert.Contains("cannot run on this DiffTransformerLM while Trainer.Step is changing its weights", e.Message);
    }

    static Dictionary<string, Tensor> Snapshot(DiffTransformerLM model) =>
        model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    static bool SameWeights(Dictionary<string, Tensor> snapshot, DiffTransformerLM model) =>
        model.state_dict().All(p => Bits.Same(snapshot[p.Key], p.Value));
}

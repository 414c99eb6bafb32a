using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static DiffTransformer.Tests.Rejection;

namespace DiffTransformer.Tests.Training;

public sealed class ScheduleAndGroupsTests
{
    [Fact]
    public void WarmupIsLinearThenCosineDecaysToTheFloor()
    {
        var schedule = new WarmupCosineSchedule(1e-3, 1e-4, WarmupSteps: 10, TotalSteps: 110);
        Assert.Equal(1e-4, schedule.LearningRateAt(0), 15);
        Assert.Equal(5e-4, schedule.LearningRateAt(4), 15);
        Assert.Equal(1e-3, schedule.LearningRateAt(9), 15);
        Assert.Equal(1e-3, schedule.LearningRateAt(10), 15);                 // cosine starts at the peak
        Assert.Equal(1e-4 + 0.5 * 9e-4, schedule.LearningRateAt(60), 15);    // halfway
        Assert.Equal(1e-4, schedule.LearningRateAt(110), 15);
        Assert.Equal(1e-4, schedule.LearningRateAt(5000), 15);
        for (long step = 10; step < 110; step++) Assert.True(schedule.LearningRateAt(step + 1) <= schedule.LearningRateAt(step));
        Assert.Equal(1e-3, new WarmupCosineSchedule(1e-3, 0, 0, 5).LearningRateAt(0), 15);
    }

    [Theory]
    [InlineData(0.0, 0.0, 0, 10, "PeakLearningRate")]
    [InlineData(1e-3, 2e-3, 0, 10, "MinLearningRate")]
    [InlineData(1e-3, 0.0, 11, 10, "WarmupSteps")]
    [InlineData(1e-3, 0.0, 0, 0, "TotalSteps")]
    public void BadScheduleArgumentsAreNamed(double peak, double floor, int warmup, int total, string name)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => new WarmupCosineSchedule(peak, floor, warmup, total));
        Assert.Equal(name, error.ParamName);
    }

    [Fact]
    public void RangeRulesNameTheArgumentTheRuleAndTheValue()
    {
        var options = new TrainingOptions();
        Rejects<ArgumentOutOfRangeException>(() => (options with { Beta1 = 1 }).Validate(), "Beta1", "Beta1 must lie in [0, 1); got 1.");
        Rejects<ArgumentOutOfRangeException>(() => (options with { Beta2 = double.NaN }).Validate(), "Beta2", "Beta2 must lie in [0, 1); got NaN.");
        Rejects<ArgumentOutOfRangeException>(() => (options with { WeightDecay = -0.5 }).Validate(), "WeightDecay", "WeightDecay must be a finite number >= 0; got -0.5.");
        Rejects<ArgumentOutOfRangeException>(() => (options with { WeightDecay = double.PositiveInfinity }).Validate(), "WeightDecay", "finite number >= 0");
        Rejects<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-3, 0, 1, 10).LearningRateAt(-3), "step", "step must be >= 0; got -3.");
        using var batches = new TokenBatches(Corpus.Bytes(), batchSize: 2, time: 16);
        Rejects<ArgumentOutOfRangeException>(() => batches.TrainingWindowStarts(-1), "index", "index must be >= 0; got -1.");
        Rejects<ArgumentOutOfRangeException>(() => new TokenBatches(Corpus.Bytes(), 2, 16, validationFraction: 1.5), "validationFraction", "validationFraction must lie in [0, 1); got 1.5.");
    }

    [Fact]
    public void ApplySetsEveryGroup()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        using var optimizer = ParameterGroups.CreateAdamW(model);
        double rate = new WarmupCosineSchedule(2e-3, 0, 4, 8).Apply(optimizer, 1);
        Assert.Equal(1e-3, rate, 15);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(1e-3, g.LearningRate, 15));
    }

    [Fact]
    public void MatricesDecayButNormsEmbeddingsAndLambdasDoNot()
    {
        using var v1 = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential) with { NumLayers = 1 });
        var split = ParameterGroups.Split(v1);
        Assert.Equal(new[]
        {
            "layers.0.attn.k_proj.weight", "layers.0.attn.out_proj.weight", "layers.0.attn.q_proj.weight", "layers.0.attn.v_proj.weight",
            "layers.0.ffn.down_proj.weight", "layers.0.ffn.gate_proj.weight", "layers.0.ffn.up_proj.weight", "lm_head.weight",
        }, split.Decay.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(new[]
        {
            "embed_tokens.weight", "layers.0.attn.lambda_k1", "layers.0.attn.lambda_k2", "layers.0.attn.lambda_q1", "layers.0.attn.lambda_q2",
            "layers.0.attn.subln.weight", "layers.0.attn_norm.weight", "layers.0.ffn_norm.weight", "norm.weight",
        }, split.NoDecay.Select(p => p.Name).Order(StringComparer.Ordinal));

        using var v2 = new DiffTransformerLM(Build.TinyConfig(AttentionKind.DifferentialV2) with { NumLayers = 1, TieEmbeddings = true });
        var v2Split = ParameterGroups.Split(v2);
        Assert.Contains("layers.0.attn.lambda_proj.weight", v2Split.Decay.Select(p => p.Name));
        Assert.Contains("embed_tokens.weight", v2Split.NoDecay.Select(p => p.Name)); // tied head: the table is not decayed
        Assert.DoesNotContain("lm_head.weight", v2Split.All.Select(p => p.Name));
    }

    [Fact]
    public void WithZeroGradientsOnlyTheDecayedGroupShrinks()
    {
        manual_seed(4);
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        var options = new TrainingOptions { LearningRate = 0.1, WeightDecay = 0.5 };
        using var optimizer = ParameterGroups.CreateAdamW(model, options);
        var before = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        foreach (var p in model.parameters()) p.grad = zeros_like(p);
        optimizer.step();
        var decayed = ParameterGroups.Split(model).Decay.Select(p => p.Name).ToHashSet();
        foreach (var (name, value) in model.state_dict())
        {
            var expected = decayed.Contains(name) ? before[name] * (1 - 0.1 * 0.5) : before[name];
            Assert.True(value.allclose(expected, rtol: 1e-6, atol: 0), name);
        }
    }

    [Fact]
    public void ClippingMatchesTorchSharpsNativeClipGradNorm()
    {
        foreach (double maxNorm in new[] { 0.05, 1e6 })
        {
            manual_seed(9);
            var ours = Enumerable.Range(0, 3).Select(i => new Parameter(randn(4, i + 2))).ToList();
            var theirs = ours.Select(p => new Parameter(p.detach().clone())).ToList();
            foreach (var (a, b) in ours.Zip(theirs))
            {
                var g = randn(a.shape);
                a.grad = g.clone();
                b.grad = g.clone();
            }
            using var norm = GradientClipping.ClipByGlobalNorm(ours, maxNorm)!;
            double expected = nn.utils.clip_grad_norm_(theirs, maxNorm);
            Assert.Equal(expected, norm.item<float>(), 5);
            foreach (var (a, b) in ours.Zip(theirs)) Assert.True(a.grad!.allclose(b.grad!, rtol: 1e-6, atol: 1e-7));
        }
    }

    [Fact]
    public void ClippingWithoutALimitOnlyMeasures()
    {
        var parameter = new Parameter(zeros(2));
        parameter.grad = tensor(new[] { 3f, 4f });
        using var norm = GradientClipping.ClipByGlobalNorm(new[] { parameter }, null)!;
        Assert.Equal(5f, norm.item<float>());
        Assert.True(Bits.Same(parameter.grad!, tensor(new[] { 3f, 4f })));
        Assert.Null(GradientClipping.ClipByGlobalNorm(new[] { new Parameter(zeros(2)) }, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(new[] { parameter }, -1));
    }
}

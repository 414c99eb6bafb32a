using TorchSharp.Modules;

namespace DiffTransformer.Tests;

/// <summary>What <see cref="TrainingOptions"/> accepts, and that its values reach the schedule and the optimizer.</summary>
public class TrainingOptionsTests
{
    [Fact]
    public void ScheduleCarriesTheOptionsRatesAndSteps()
    {
        var schedule = new TrainingOptions { LearningRate = 1e-2, MinLearningRate = 1e-3, WarmupSteps = 5, Steps = 25 }.Schedule;
        Assert.Equal(1e-2 / 5, schedule.LearningRateAt(0), 15);
        Assert.Equal(1e-2, schedule.LearningRateAt(4), 15);
        Assert.Equal(1e-3 + 0.5 * (1e-2 - 1e-3), schedule.LearningRateAt(15), 15); // half-way through the decay
        Assert.Equal(1e-3, schedule.LearningRateAt(25), 15);
    }

    [Fact]
    public void AdamWGetsTheBetasEpsilonRateAndDecayOfTheOptions()
    {
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        var options = new TrainingOptions { LearningRate = 3e-3, Beta1 = 0.8, Beta2 = 0.95, Epsilon = 1e-6, WeightDecay = 0.2 };
        var optimizer = ParameterGroups.CreateAdamW(ParameterGroups.Split(model), options);
        var groups = optimizer.ParamGroups.Cast<AdamW.ParamGroup>().ToList();
        Assert.Equal(2, groups.Count);
        Assert.Equal(new[] { 0.2, 0.0 }, groups.Select(g => g.Options.weight_decay!.Value));
        Assert.All(groups, g =>
        {
            Assert.Equal(0.8, g.Options.beta1!.Value);
            Assert.Equal(0.95, g.Options.beta2!.Value);
            Assert.Equal(1e-6, g.Options.eps!.Value);
            Assert.Equal(3e-3, g.Options.LearningRate!.Value);
        });
    }

    public static TheoryData<TrainingOptions, string, string> BadOptions() => new()
    {
        { new TrainingOptions { Steps = 0 }, nameof(TrainingOptions.Steps), "0" },
        { new TrainingOptions { EvaluationInterval = -1 }, nameof(TrainingOptions.EvaluationInterval), "-1" },
        { new TrainingOptions { GradientAccumulationSteps = 0 }, nameof(TrainingOptions.GradientAccumulationSteps), "0" },
        { new TrainingOptions { MaxEvaluationBatches = 0 }, nameof(TrainingOptions.MaxEvaluationBatches), "0" },
        { new TrainingOptions { WeightDecay = -0.1 }, nameof(TrainingOptions.WeightDecay), "-0.1" },
        { new TrainingOptions { WeightDecay = double.PositiveInfinity }, nameof(TrainingOptions.WeightDecay), "" },
        { new TrainingOptions { Beta1 = 1 }, nameof(TrainingOptions.Beta1), "1" },
        { new TrainingOptions { Beta2 = -0.5 }, nameof(TrainingOptions.Beta2), "-0.5" },
        { new TrainingOptions { Beta2 = double.NaN }, nameof(TrainingOptions.Beta2), "NaN" },
        { new TrainingOptions { Epsilon = 0 }, nameof(TrainingOptions.Epsilon), "0" },
        { new TrainingOptions { MaxGradientNorm = -1 }, nameof(TrainingOptions.MaxGradientNorm), "-1" },
        { new TrainingOptions { Precision = (TrainingPrecision)7 }, nameof(TrainingOptions.Precision), "7" },
        { new TrainingOptions { NonFinite = (NonFinitePolicy)5 }, nameof(TrainingOptions.NonFinite), "5" },
        { new TrainingOptions { CheckpointDirectory = " " }, nameof(TrainingOptions.CheckpointDirectory), "' '" },
        { new TrainingOptions { CheckpointInterval = 0 }, nameof(TrainingOptions.CheckpointInterval), "0" },
        { new TrainingOptions { CheckpointsKept = 0 }, nameof(TrainingOptions.CheckpointsKept), "0" },
        { new TrainingOptions { WarmupSteps = 2000 }, "WarmupSteps", "2000" },
        { new TrainingOptions { MinLearningRate = 1 }, "MinLearningRate", "1" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void EveryRuleNamesItsOptionAndValue(TrainingOptions options, string name, string value)
    {
        var error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Equal(name, error.ParamName);
        Assert.Contains($"got {value}", error.Message);
    }
}

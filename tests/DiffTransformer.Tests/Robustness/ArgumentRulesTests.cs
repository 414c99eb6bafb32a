using DiffTransformer.Retrieval;
using TorchSharp;
using static TorchSharp.torch;
using static DiffTransformer.Tests.Rejection;

namespace DiffTransformer.Tests;

/// <summary>Argument rules of the smaller public members: each names the argument, the rule and the value.</summary>
public class ArgumentRulesTests
{
    private static readonly NeedleRetrievalTask Task = new(new NeedleTaskOptions { ValidationExamples = 8 });

    [Fact]
    public void NeedleTaskIndicesAndTokensMustBeInRange()
    {
        Rejects<ArgumentOutOfRangeException>(() => Task.TrainingExamples(-1), "index", ">= 0", "-1");
        Rejects<ArgumentOutOfRangeException>(() => Task.KeyToken(Task.Options.KeyCount), "index", $"[0, {Task.Options.KeyCount})");
        Rejects<ArgumentOutOfRangeException>(() => Task.FillerToken(-1), "index", "got -1");
        Rejects<ArgumentOutOfRangeException>(() => Task.TokenLabel(Task.VocabSize), "id", $"[0, {Task.VocabSize})");
    }

    [Fact]
    public void NeedleBatchesNeedExamplesOfOneLength()
    {
        Rejects<ArgumentException>(() => NeedleRetrievalTask.ToBatch(Array.Empty<NeedleExample>(), CPU), "examples", "got none");
        var longer = new NeedleRetrievalTask(new NeedleTaskOptions { SequenceLength = 40, ValidationExamples = 8 });
        var mixed = new[] { Task.ValidationExamples[0], longer.ValidationExamples[0] };
        Rejects<ArgumentException>(() => NeedleRetrievalTask.ToBatch(mixed, CPU), "examples",
            $"must all have {Task.Options.SequenceLength} tokens", "40");
    }

    [Fact]
    public void AllocationNeedsFourDimensionalMapsAndSomeValues()
    {
        using var maps = new AttentionMaps(AttentionKind.Softmax, zeros(2, 5, 5), null, null, null);
        Rejects<ArgumentException>(() => AttentionAllocation.Measure(new[] { maps }, Task.ValidationExamples.Take(2).ToList()),
            "layers", "[batch, heads, queryTime, keyTime]", "[2, 5, 5]");
        Rejects<ArgumentException>(() => AttentionAllocation.Mean(Array.Empty<AttentionAllocation>()), "allocations", "got none");
    }

    [Fact]
    public void TrainingBatchNeedsInputsAndTargetsOfOneShape()
    {
        Rejects<ArgumentException>(() => new TrainingBatch(zeros(new long[] { 2, 4 }, ScalarType.Int64), zeros(new long[] { 2, 5 }, ScalarType.Int64)),
            "targets", "inputs [2, 4], targets [2, 5]");
    }

    [Fact]
    public void ScheduleStepMustNotBeNegative()
    {
        Rejects<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(1e-3, 1e-4, 10, 100).LearningRateAt(-1), "step", ">= 0", "-1");
    }

    [Fact]
    public void AdamWNeedsTrainableParameters()
    {
        var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        foreach (var p in model.parameters()) p.requires_grad = false;
        Rejects<ArgumentException>(() => ParameterGroups.CreateAdamW(model), "split", "no trainable parameters");
    }

    [Fact]
    public void LayersCheckTheirSizesAndInputs()
    {
        Rejects<ArgumentOutOfRangeException>(() => new RmsNorm(0), "dim", "positive", "0");
        Rejects<ArgumentOutOfRangeException>(() => new RmsNorm(8, eps: -1), "eps", "-1");
        Rejects<ArgumentOutOfRangeException>(() => new SwiGlu(8, 0), "hiddenDim", "positive", "0");
        Rejects<ArgumentException>(() => new RmsNorm(8).call(zeros(2, 6)), "x", "last dimension 8", "[2, 6]");
        var block = new DiffTransformerBlock(Build.Attention(AttentionKind.Softmax), ffnHiddenDim: 64);
        Rejects<ArgumentException>(() => block.call(zeros(new long[] { 1, 3, 16 }, ScalarType.Float64)), "x", "[1, 3, 16]");
    }

    [Fact]
    public void CheckpointDirectoryMustNotBeAFile()
    {
        using var temp = new TempDirectory();
        string file = temp.File("taken");
        File.WriteAllText(file, "keep me");
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax));
        Rejects<ArgumentException>(() => ModelCheckpoint.Save(model, file), "directory", "must be a directory", "is a file");
        Assert.Equal("keep me", File.ReadAllText(file));
    }
}

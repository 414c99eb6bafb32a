using DiffTransformer.Retrieval;
using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Tests.Retrieval;

public class RetrievalEvaluationTests
{
    [Fact]
    public void AccuracyAndLossAgreeWithTheModelsOwnPredictions()
    {
        manual_seed(5);
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential, vocab: 63) with { MaxSequenceLength = 32 });
        var task = new NeedleRetrievalTask(new NeedleTaskOptions { SequenceLength = 32, ValidationExamples = 24, BatchSize = 8, Seed = 2 });
        var result = RetrievalEvaluation.Evaluate(model, task, batchSize: 10);

        using var batch = NeedleRetrievalTask.ToBatch(task.ValidationExamples, CPU);
        bool[] expected;
        using (no_grad())
        {
            var last = model.forward(batch.Inputs)[.., -1];
            expected = (last.argmax(-1) == batch.Targets[.., -1]).data<bool>().ToArray();
        }
        Assert.Equal(expected, result.Correct);
        Assert.Equal(expected.Count(c => c) / 24.0, result.Accuracy, 12);
        // Only the answer is scored, so the answer loss is the trainer's validation loss.
        var validation = ValidationLoss.Evaluate(model, task.GetValidationBatches(CPU));
        Assert.Equal(validation.Loss, result.Loss, 5);
        Assert.Equal(new[] { 6, 6, 6, 6 }, result.ExamplesByDepth);
        for (int b = 0; b < 4; b++)
        {
            var inBucket = Enumerable.Range(0, 24).Where(i => task.ValidationExamples[i].DepthBucket == b).ToArray();
            Assert.Equal(inBucket.Count(i => expected[i]) / 6.0, result.AccuracyByDepth[b], 12);
        }
        // The allocation is the mean over all examples, whatever the batches (24 examples in batches of 10, 10, 4).
        var maps = model.ComputeAttentionMaps(batch.Inputs);
        var whole = AttentionAllocation.Mean(AttentionAllocation.Measure(maps, task.ValidationExamples));
        foreach (var m in maps) m.Dispose();
        Assert.Equal(whole.Answer, result.Allocation.Answer, 12);
        Assert.Equal(whole.Distractors, result.Allocation.Distractors, 12);
        Assert.Equal(whole.Total, result.Allocation.Total, 12);
        Assert.True(model.training, "training mode is restored");

        var skipped = RetrievalEvaluation.Evaluate(model, task, measureAllocation: false);
        Assert.True(double.IsNaN(skipped.Allocation.Answer));
        Assert.Equal(result.Correct, skipped.Correct);
    }

    [Fact]
    public void BatchSizeAndEmptyExamplesAreRejected()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax, vocab: 63) with { MaxSequenceLength = 48 });
        var task = new NeedleRetrievalTask(new NeedleTaskOptions { ValidationExamples = 8 });
        var size = Assert.Throws<ArgumentOutOfRangeException>(() => RetrievalEvaluation.Evaluate(model, task, batchSize: 0));
        Assert.Equal("batchSize", size.ParamName);
        Assert.Contains("got 0", size.Message);
        var none = Assert.Throws<ArgumentException>(() => RetrievalEvaluation.Evaluate(model, task, Array.Empty<NeedleExample>()));
        Assert.Equal("examples", none.ParamName);
    }

    [Fact]
    public void TooSmallAVocabularyIsRejected()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax, vocab: 16) with { MaxSequenceLength = 48 });
        var error = Assert.Throws<ArgumentException>(() => RetrievalEvaluation.Evaluate(model, new NeedleRetrievalTask()));
        Assert.Contains("63", error.Message);
        Assert.Contains("16", error.Message);
    }

    [Fact]
    public void ExamplesOfAnotherTaskShapeAreRejected()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Softmax, vocab: 63) with { MaxSequenceLength = 48 });
        var eightBuckets = new NeedleRetrievalTask(new NeedleTaskOptions { DepthBuckets = 8, ValidationExamples = 8 });
        var error = Assert.Throws<ArgumentException>(() => RetrievalEvaluation.Evaluate(model, new NeedleRetrievalTask(), eightBuckets.ValidationExamples));
        Assert.Contains("examples[4].DepthBucket must lie in [0, 4) for this task; got 4", error.Message);
    }
}

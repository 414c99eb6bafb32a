using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Retrieval;

/// <summary>Retrieval accuracy, answer loss and attention allocation of a model on needle examples.</summary>
public static class RetrievalEvaluation
{
    /// <summary>
    /// Evaluates <paramref name="model"/> on <paramref name="examples"/> (default: the task's validation examples) in
    /// batches of <paramref name="batchSize"/>, in evaluation mode and without gradients (the training mode is restored).
    /// Accuracy takes the argmax over the whole vocabulary at the query position. One pass per batch computes the logits
    /// of the query position only and, for the allocation, every layer's maps (as
    /// <see cref="DiffTransformerLM.ComputeAttentionMaps"/>; materialising them makes that pass use the naive kernel,
    /// which computes the same function as the fused one up to rounding). Pass <paramref name="measureAllocation"/>
    /// false to skip the maps (the allocation is then NaN) and keep the model's kernel.
    /// </summary>
    public static RetrievalResult Evaluate(DiffTransformerLM model, NeedleRetrievalTask task,
        IReadOnlyList<NeedleExample>? examples = null, int batchSize = 64, bool measureAllocation = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        Guard.Positive(batchSize, nameof(batchSize));
        examples ??= task.ValidationExamples;
        if (examples.Count == 0) throw new ArgumentException("examples must contain at least one example; got none.", nameof(examples));
        if (model.Config.VocabSize < task.VocabSize)
            throw new ArgumentException($"model must have VocabSize >= the task's {task.VocabSize}; got {model.Config.VocabSize}.", nameof(model));

        int buckets = task.Options.DepthBuckets;
        for (int i = 0; i < examples.Count; i++)
            if (examples[i].DepthBucket < 0 || examples[i].DepthBucket >= buckets)
                throw new ArgumentException($"examples[{i}].DepthBucket must lie in [0, {buckets}) for this task; got {examples[i].DepthBucket}.", nameof(examples));

        var device = model.parameters().First().device;
        var correct = new List<bool>(examples.Count);
        var allocations = new List<AttentionAllocation>(examples.Count);
        double lossSum = 0;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            foreach (var chunk in examples.Chunk(batchSize))
            {
                using var scope = NewDisposeScope();
                using var batch = NeedleRetrievalTask.ToBatch(chunk, device);
                var maps = measureAllocation ? new List<AttentionMaps>() : null;
                try
                {
                    var last = model.LastLogits(batch.Inputs, maps is null ? null : (_, m) => maps.Add(m)).select(1, 0); // [n, vocab]
                    var answers = batch.Targets.select(1, -1);                              // [n]
                    var hit = last.argmax(-1) == answers;
                    var loss = nn.functional.cross_entropy(last.to(ScalarType.Float32), answers, reduction: nn.Reduction.Sum);
                    var read = cat(new[] { hit.to(ScalarType.Float64), loss.to(ScalarType.Float64).reshape(1) }).cpu().data<double>().ToArray();
                    correct.AddRange(read.Take(chunk.Length).Select(v => v > 0.5));
                    lossSum += read[^1];
                    if (maps is not null) allocations.AddRange(AttentionAllocation.Measure(maps, chunk));
                }
                finally
                {
                    if (maps is not null) foreach (var m in maps) m.Dispose();
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }

        var hits = new int[buckets];
        var counts = new int[buckets];
        for (int i = 0; i < examples.Count; i++)
        {
            counts[examples[i].DepthBucket]++;
            if (correct[i]) hits[examples[i].DepthBucket]++;
        }
        var allocation = measureAllocation ? AttentionAllocation.Mean(allocations) : new AttentionAllocation(double.NaN, double.NaN, double.NaN);
        return new RetrievalResult(
            (double)correct.Count(c => c) / examples.Count, lossSum / examples.Count,
            Enumerable.Range(0, buckets).Select(b => counts[b] == 0 ? double.NaN : (double)hits[b] / counts[b]).ToArray(),
            counts, allocation, correct);
    }
}

using System.Diagnostics;
using DiffTransformer;
using DiffTransformer.Retrieval;
using DiffTransformer.Samples;
using TorchSharp;
using static TorchSharp.torch;

namespace NeedleInAHaystack;

/// <summary>
/// Runs the comparison: builds the task and the three models (each initialised from the same seed), trains them side by
/// side with one <see cref="Trainer"/> each, stepping in turn on the same batches, validates every
/// <see cref="ExperimentOptions.EvaluationInterval"/> steps and evaluates accuracy and attention allocation at the end.
/// Writes nothing; progress goes to the callback.
/// </summary>
public static class ExperimentRunner
{
    /// <summary>The task the options describe.</summary>
    public static NeedleTaskOptions TaskOptions(ExperimentOptions options) => new()
    {
        SequenceLength = options.SequenceLength,
        NeedleCount = options.Needles,
        KeyedValues = options.KeyedValues,
        BatchSize = options.BatchSize,
        ValidationExamples = options.ValidationExamples,
        Seed = options.Seed,
    };

    /// <summary>The training hyperparameters: short warm-up, cosine decay to a tenth of the peak.</summary>
    public static TrainingOptions TrainingOptions(ExperimentOptions options) => new()
    {
        Steps = options.Steps,
        LearningRate = options.LearningRate,
        MinLearningRate = options.LearningRate * options.FinalLearningRateShare,
        WeightDecay = options.WeightDecay,
        WarmupSteps = Math.Max(1, Math.Min(options.WarmupSteps, options.Steps / 10)),
    };

    /// <summary>Runs the experiment. <paramref name="progress"/> is called on this thread after every step of every model.</summary>
    /// <exception cref="ArgumentException">CUDA was asked for but is not available.</exception>
    public static ExperimentResults Run(ExperimentOptions options, Action<RunProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var device = SampleCommandLine.ResolveDevice(options.Device);
        var watch = Stopwatch.StartNew();
        int previousThreads = get_num_threads();
        set_num_threads(options.Threads);
        var runs = new List<ModelRun>();
        try
        {
            var task = new NeedleRetrievalTask(TaskOptions(options));
            var training = TrainingOptions(options);
            foreach (var contestant in ModelLineup.Create(options, task.VocabSize))
            {
                manual_seed(options.Seed);
                var model = new DiffTransformerLM(contestant.Config).to(device);
                runs.Add(new ModelRun(contestant, model, new Trainer(model, task, training)));
            }

            for (int step = 1; step <= options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                bool last = step == options.Steps;
                bool validate = step % options.EvaluationInterval == 0 || last;
                for (int i = 0; i < runs.Count; i++)
                {
                    var run = runs[i];
                    var report = run.Trainer.Step();
                    run.Losses.Add(report.Loss);
                    ValidationPoint? point = null;
                    if (validate)
                    {
                        // After the last step the final evaluation (with the attention allocation) is the last validation point.
                        var result = RetrievalEvaluation.Evaluate(run.Model, task, measureAllocation: last);
                        if (last) run.Final = result;
                        point = new ValidationPoint(step, result.Loss, result.Accuracy);
                        run.Validation.Add(point);
                    }
                    progress?.Invoke(new RunProgress(i, run.Contestant.Name, step, options.Steps, report.Loss, point));
                }
            }

            var example = task.ValidationExamples.First(e => e.DepthBucket == 0);
            var results = runs.Select(run => Summarise(run, task, example)).ToArray();
            return new ExperimentResults(options, task.Options, results, watch.Elapsed);
        }
        finally
        {
            foreach (var run in runs)
            {
                run.Trainer.Dispose();
                run.Model.Dispose();
            }
            set_num_threads(previousThreads);
        }
    }

    private static ModelResult Summarise(ModelRun run, NeedleRetrievalTask task, NeedleExample example)
    {
        var final = run.Final ?? throw new InvalidOperationException("The final evaluation runs after the last step.");
        int tail = Math.Max(1, run.Losses.Count / 10);
        double tokensPerSecond = run.Trainer.Tokens / Math.Max(run.Trainer.Elapsed.TotalSeconds, 1e-9);
        return new ModelResult(run.Contestant.Name, run.Contestant.Config, ModelLineup.ParameterCount(run.Model),
            run.Model.Blocks[0].Attention.HeadDim, run.Losses.ToArray(), run.Validation.ToArray(), run.Losses.TakeLast(tail).Average(),
            final, tokensPerSecond, Attention(run.Model, task, example));
    }

    /// <summary>The final query's effective attention row in every layer and head, and the model's prediction.</summary>
    private static ExampleAttention Attention(DiffTransformerLM model, NeedleRetrievalTask task, NeedleExample example)
    {
        var device = model.parameters().First().device;
        using var scope = NewDisposeScope();
        using var batch = NeedleRetrievalTask.ToBatch(new[] { example }, device);
        var rows = new List<double[]>();
        var labels = new List<string>();
        long predicted;
        using (no_grad())
        {
            bool wasTraining = model.training;
            model.eval();
            predicted = model.forward(batch.Inputs)[0, -1].argmax().item<long>();
            model.train(wasTraining);
            var maps = model.ComputeAttentionMaps(batch.Inputs);
            try
            {
                for (int layer = 0; layer < maps.Count; layer++)
                {
                    var query = maps[layer].Effective[0, .., example.QueryPosition, ..].to(ScalarType.Float64).cpu(); // [heads, time]
                    for (int head = 0; head < query.shape[0]; head++)
                    {
                        rows.Add(query[head].data<double>().ToArray());
                        labels.Add($"L{layer} H{head}");
                    }
                }
            }
            finally
            {
                foreach (var map in maps) map.Dispose();
            }
        }
        return new ExampleAttention(example.Tokens.Select(task.TokenLabel).ToArray(), example.AnswerSpan,
            rows.ToArray(), labels, task.TokenLabel(predicted), task.TokenLabel(example.Answer));
    }

    private sealed record ModelRun(Contestant Contestant, DiffTransformerLM Model, Trainer Trainer)
    {
        public List<double> Losses { get; } = new();

        public List<ValidationPoint> Validation { get; } = new();

        /// <summary>The evaluation after the last step, allocation included.</summary>
        public RetrievalResult? Final { get; set; }
    }
}

using DiffTransformer;
using DiffTransformer.Samples;
using TorchSharp;
using static TorchSharp.torch;

namespace TrainLanguageModel;

/// <summary>What a training run produced.</summary>
/// <param name="Corpus">Where the text came from (the file, or a note that it was generated).</param>
/// <param name="GeneratedCorpus">True when no file was given and the sample generated its own text.</param>
/// <param name="Tokenizer">The tokenizer's name (stored in the checkpoint metadata).</param>
/// <param name="CorpusTokens">Tokens in the whole text.</param>
/// <param name="Config">The model's configuration.</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="TrainingLoss">Loss of every step.</param>
/// <param name="Validation">Validation loss at every evaluation (step, loss).</param>
/// <param name="TokensPerSecond">Training tokens over training wall time.</param>
/// <param name="CheckpointDirectory">The saved checkpoint (model and trainer state).</param>
/// <param name="Prompt">The prompt.</param>
/// <param name="Generated">The continuation the trained model generated.</param>
/// <param name="Elapsed">Wall time of the run.</param>
public sealed record LanguageModelResult(
    string Corpus, bool GeneratedCorpus, string Tokenizer, long CorpusTokens, DiffTransformerConfig Config, long Parameters,
    IReadOnlyList<double> TrainingLoss, IReadOnlyList<(long Step, double Loss)> Validation, double TokensPerSecond,
    string CheckpointDirectory, string Prompt, string Generated, TimeSpan Elapsed);

/// <summary>
/// Trains a small <see cref="DiffTransformerLM"/> on a text file (or a generated corpus), saves a checkpoint that
/// <c>ModelCheckpoint.Load</c>, <c>Trainer.LoadCheckpoint</c> and the AttentionNoiseExplorer sample read, and
/// generates a continuation of a prompt with the trained model.
/// </summary>
public static class LanguageModelRun
{
    /// <summary>Characters of generated text when no file is given.</summary>
    public const int GeneratedCorpusCharacters = 200_000;

    /// <summary>Share of the tokens, at the end, kept for validation.</summary>
    public const double ValidationFraction = 0.1;

    /// <summary>
    /// The fewest tokens <see cref="TokenBatches"/> takes for windows of <paramref name="context"/>: the validation tenth,
    /// <c>floor(tokens / 10)</c>, must hold <c>context + 1</c> tokens; the training nine tenths then hold more.
    /// </summary>
    public static long MinimumCorpusTokens(int context) => 10L * (context + 1);

    /// <summary>
    /// Runs the whole thing. <paramref name="progress"/> gets every step's report on this thread.
    /// </summary>
    /// <exception cref="ArgumentException">The data file is missing or too short, the prompt too long for the model (both checked
    /// before training), or CUDA is not available.</exception>
    public static LanguageModelResult Run(LanguageModelOptions options, Action<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var device = SampleCommandLine.ResolveDevice(options.Device);
        var tokenizer = SampleTokenizers.Create(options.Tokenizer);
        var (text, corpus) = ReadCorpus(options);
        int[] tokens = tokenizer.Encode(text);
        long needed = MinimumCorpusTokens(options.Context);
        if (tokens.Length < needed)
            throw new ArgumentException(
                $"{corpus} has {tokens.Length} tokens ({options.Tokenizer} tokenizer); windows of {options.Context} need at least {needed}: "
                + $"the last tenth is kept for validation and must hold one window of context + 1 = {options.Context + 1} tokens.",
                nameof(options));
        // Checked before training: a prompt the model cannot take would otherwise fail only after the run.
        var config = ModelConfig(options, tokenizer.VocabSize);
        long[] prompt = PromptTokens(tokenizer, options.Prompt);
        if (prompt.Length >= config.MaxSequenceLength)
            throw new ArgumentException($"The prompt has {prompt.Length} tokens; the model takes at most {config.MaxSequenceLength - 1} before generating.", nameof(options));

        int previousThreads = get_num_threads();
        set_num_threads(options.Threads);
        try
        {
            manual_seed(options.Seed);
            using var model = new DiffTransformerLM(config).to(device);
            using var data = new TokenBatches(tokens, options.BatchSize, options.Context, validationFraction: ValidationFraction, seed: options.Seed);
            var training = new TrainingOptions
            {
                Steps = options.Steps,
                LearningRate = options.LearningRate,
                MinLearningRate = options.LearningRate / 10,
                WarmupSteps = Math.Max(1, Math.Min(100, options.Steps / 10)),
                EvaluationInterval = options.EvaluationInterval,
                MaxEvaluationBatches = 20,
            };
            using var trainer = new Trainer(model, data, training);
            var reports = trainer.Run(progress is null ? null : new Reporter(progress), cancellationToken);

            string checkpoint = Path.GetFullPath(Path.Combine(options.OutputDirectory, "checkpoint"));
            trainer.SaveCheckpoint(checkpoint, new Dictionary<string, string> { ["tokenizer"] = tokenizer.Name, ["corpus"] = corpus });

            int room = config.MaxSequenceLength - prompt.Length;
            var generated = model.Generate(prompt, new GenerationOptions
            {
                MaxNewTokens = Math.Min(options.GenerateTokens, room),
                Temperature = 0.8,
                TopK = 40,
                Seed = options.Seed,
            }, cancellationToken: cancellationToken);
            string continuation = tokenizer.Decode(generated.Tokens.Select(t => (int)t).ToArray());

            return new LanguageModelResult(corpus, options.DataPath is null, tokenizer.Name, tokens.Length, config,
                model.parameters().Sum(p => p.numel()), reports.Select(r => r.Loss).ToArray(),
                reports.Where(r => r.Validation is not null).Select(r => (r.Step, r.Validation!.Value.Loss)).ToArray(),
                trainer.Tokens / Math.Max(trainer.Elapsed.TotalSeconds, 1e-9), checkpoint, options.Prompt, continuation, watch.Elapsed);
        }
        finally
        {
            set_num_threads(previousThreads);
        }
    }

    /// <summary>
    /// The model: the chosen attention at <see cref="LanguageModelOptions.Heads"/> heads (softmax gets twice as many, the
    /// size of the V1 model), embeddings tied to the head for cl100k's large vocabulary, room for prompt and generation.
    /// </summary>
    public static DiffTransformerConfig ModelConfig(LanguageModelOptions options, int vocabSize)
    {
        var v1 = SampleModels.V1(vocabSize, options.EmbedDim, options.Layers, options.Heads, Math.Max(options.Context, 256)) with
        {
            TieEmbeddings = vocabSize > 4096,
        };
        return options.Attention switch
        {
            AttentionKind.Differential => v1,
            AttentionKind.Softmax => v1.ToSoftmaxBaseline(),
            _ => v1 with { Attention = AttentionKind.DifferentialV2, NumHeads = 2 * options.Heads },
        };
    }

    /// <summary>The prompt's tokens; an empty prompt starts from a line break.</summary>
    private static long[] PromptTokens(ITokenizer tokenizer, string prompt)
    {
        int[] tokens = tokenizer.Encode(prompt);
        if (tokens.Length == 0) tokens = tokenizer.Encode("\n");
        return tokens.Select(t => (long)t).ToArray();
    }

    private static (string Text, string Description) ReadCorpus(LanguageModelOptions options)
    {
        if (options.DataPath is null)
            return (SyntheticCorpus.Generate(GeneratedCorpusCharacters, options.Seed),
                $"a generated corpus of {GeneratedCorpusCharacters:N0} characters (no --data file given)");
        if (!File.Exists(options.DataPath))
            throw new ArgumentException($"--data: the file '{options.DataPath}' does not exist.", nameof(options));
        return (File.ReadAllText(options.DataPath), $"'{Path.GetFileName(options.DataPath)}'");
    }

    /// <summary>Reports on the training thread (unlike <see cref="Progress{T}"/>).</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}

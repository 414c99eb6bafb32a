using System.Diagnostics;
using System.Globalization;
using DiffTransformer;
using DiffTransformer.Samples;
using Spectre.Console;
using static TorchSharp.torch;

namespace RunPretrained;

/// <summary>
/// One run: load the directory's tokenizer, then its model (with a progress display), encode the prompt with BOS as
/// the tokenizer config says, stream the continuation to the console token by token until a stop token or the limit,
/// and print tokens/s.
/// </summary>
public static class PretrainedRun
{
    /// <summary>
    /// Runs <paramref name="options"/>, writing progress, the prompt, the streamed continuation and the speed to
    /// <paramref name="output"/>. Throws <see cref="FileNotFoundException"/> or <see cref="DirectoryNotFoundException"/>
    /// for a directory without config.json, weights or tokenizer, <see cref="InvalidDataException"/> for files that
    /// cannot be read, and <see cref="ArgumentException"/> for a tokenizer that does not fit the model or a prompt plus
    /// <c>--max-new-tokens</c> longer than the model's context.
    /// </summary>
    public static RunResult Run(RunOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        // Spectre.Console draws only the load progress; the text lines go to the writer as they are, unwrapped.
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        string directory = options.ModelDirectory;

        // The tokenizer first: a directory without one fails before gigabytes of weights are read.
        var tokenizer = HuggingFaceTokenizer.Load(directory);
        string bos = tokenizer.AddsBos ? $", BOS {tokenizer.BosTokenId} prepended" : "";
        output.WriteLine(Invariant($"Tokenizer: {tokenizer.Name} (vocabulary {tokenizer.VocabSize:N0}{bos})"));

        var weights = WeightFiles.In(directory);
        long bytes = weights.Sum(f => f.Length);
        var dtype = DType(options.DType);
        var device = SampleCommandLine.ResolveDevice(options.Device);
        var watch = Stopwatch.StartNew();
        using var model = Load(console, directory, weights, bytes, new HuggingFaceLoadOptions { DType = dtype, Device = device });
        var loadTime = watch.Elapsed;
        var config = model.Config;
        string description = Describe(model, options);
        output.WriteLine(Invariant($"Model: {description}; loaded in {loadTime.TotalSeconds:F2} s; stop tokens: {Ids(model.StopTokens)}"));

        if (tokenizer.VocabSize > config.VocabSize)
            throw new ArgumentException(
                $"The tokenizer {tokenizer.Name} has {tokenizer.VocabSize:N0} tokens but the model's vocabulary (config.json vocab_size) is {config.VocabSize:N0}: they do not belong together.");
        int[] promptIds = tokenizer.EncodeWithSpecialTokens(options.Prompt);
        if (promptIds.Length + options.MaxNewTokens > config.MaxSequenceLength)
            throw new ArgumentException(
                $"The prompt has {promptIds.Length} tokens; with --max-new-tokens {options.MaxNewTokens} that is more than the model's "
                + $"{config.MaxSequenceLength} positions (config.json max_position_embeddings). Lower --max-new-tokens or shorten the prompt.");
        output.WriteLine(Invariant($"Prompt: {promptIds.Length} tokens; generating at most {options.MaxNewTokens} ({Sampling(options)})."));
        output.WriteLine();

        var generation = new GenerationOptions { MaxNewTokens = options.MaxNewTokens, Temperature = options.Temperature, Seed = options.Seed };
        var prompt = promptIds.Select(id => (long)id).ToArray();
        var decoder = new StreamingDecoder(ids => tokenizer.Decode(ids), promptIds);
        var generated = new List<long>();
        var finish = FinishReason.Length;
        TimeSpan firstToken = default;
        output.Write(options.Prompt);
        output.Flush();
        watch.Restart();
        foreach (var token in model.GenerateStream(prompt, generation))
        {
            if (generated.Count == 0) firstToken = watch.Elapsed;
            generated.Add(token.Token);
            if (token.FinishReason is { } reason) finish = reason;
            if (token.FinishReason == FinishReason.StopToken) break; // the stop token ends the text and prints nothing
            output.Write(decoder.Push(checked((int)token.Token)));
            output.Flush();
        }
        var generationTime = watch.Elapsed;
        output.Write(decoder.Finish());
        output.WriteLine();
        output.WriteLine();

        var result = new RunResult(description, tokenizer.Name, weights.Select(f => f.Name).ToList(), bytes, loadTime,
            prompt, generated, finish, decoder.Text, firstToken, generationTime);
        string why = finish == FinishReason.StopToken ? $"stopped at stop token {generated[^1]}" : $"reached --max-new-tokens {options.MaxNewTokens}";
        output.WriteLine(Invariant($"{generated.Count} new tokens in {generationTime.TotalSeconds:F2} s: {result.TokensPerSecond:F1} tokens/s ")
            + Invariant($"(first token after {firstToken.TotalMilliseconds:F0} ms); {why}."));
        return result;
    }

    /// <summary>
    /// Loads the model under a progress display: one bar for the directory's weight bytes, moved by the loader's
    /// report after each tensor (<see cref="HuggingFaceLoadOptions.Progress"/>).
    /// </summary>
    private static DiffTransformerLM Load(IAnsiConsole console, string directory, IReadOnlyList<FileInfo> weights, long bytes, HuggingFaceLoadOptions options)
    {
        string what = weights.Count switch
        {
            0 => "Loading the model",
            1 => $"Loading {weights[0].Name} ({WeightFiles.Size(bytes)})",
            _ => $"Loading {weights.Count} files ({WeightFiles.Size(bytes)})",
        };
        if (!console.Profile.Capabilities.Interactive)
        {
            // Redirected output: no live display to redraw, one line instead.
            console.Profile.Out.Writer.WriteLine(what + " ...");
            return HuggingFaceCheckpoint.Load(directory, options);
        }
        DiffTransformerLM? model = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(what), maxValue: Math.Max(bytes, 1));
                var progress = new BarProgress(task);
                model = HuggingFaceCheckpoint.Load(directory, options with { Progress = progress });
                task.Value = task.MaxValue;
            });
        return model!;
    }

    private static string Describe(DiffTransformerLM model, RunOptions options)
    {
        var config = model.Config;
        string kind = config.Attention == AttentionKind.Softmax ? "Llama (softmax attention)" : "DiffLlama (differential attention)";
        long parameters = model.parameters().Sum(p => p.numel());
        return Invariant($"{kind}, {config.NumLayers} layers, hidden {config.EmbedDim}, vocabulary {config.VocabSize:N0}, ")
            + Invariant($"{parameters:N0} parameters, {options.DType} on {options.Device}");
    }

    private static string Sampling(RunOptions options) => options.Temperature > 0
        ? Invariant($"sampling at temperature {options.Temperature}") + (options.Seed is { } seed ? $", seed {seed}" : "")
        : "greedy";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Ids(IReadOnlyList<long> ids) => ids.Count == 0 ? "none" : string.Join(", ", ids);

    private static ScalarType DType(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new ArgumentException($"--dtype must be float32, bfloat16 or float16; got '{name}'.", nameof(name)),
    };
}

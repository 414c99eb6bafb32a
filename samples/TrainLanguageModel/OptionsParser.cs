using System.Globalization;
using DiffTransformer;

namespace TrainLanguageModel;

/// <summary>What the command line asked for: options to run with, the help text, or an error.</summary>
/// <param name="Options">The options when the command line was valid and did not ask for help.</param>
/// <param name="ShowHelp">True for <c>--help</c>.</param>
/// <param name="Error">Why the command line was rejected.</param>
public sealed record ParseResult(LanguageModelOptions? Options, bool ShowHelp, string? Error);

/// <summary>Parses the sample's command line.</summary>
public static class OptionsParser
{
    /// <summary>The exit code of a rejected command line.</summary>
    public const int UsageExitCode = 2;

    /// <summary>The help text.</summary>
    public const string Usage =
        """
        Trains a small Differential Transformer language model on a text file, saves a checkpoint and generates from it.

        Usage: dotnet run --project samples/TrainLanguageModel -c Release -- [options]

        Options:
          --data FILE            UTF-8 text to train on (default: a corpus the sample generates itself)
          --tokenizer NAME       byte or cl100k (default byte)
          --attention KIND       v1, v2 or softmax (default v1)
          --steps N              training steps (default 400)
          --seed N               seed of batches, initial weights and sampling (default 1)
          --device DEVICE        cpu or cuda (default cpu)
          --out DIR              output directory; the checkpoint goes to DIR/checkpoint (default lm-run)
          --prompt TEXT          text to continue after training (default "The ")
          --generate N           tokens to generate (default 120)
          --threads N            LibTorch CPU threads (default 1)
          --help                 show this text
        """;

    /// <summary>Parses <paramref name="args"/>; never throws for bad input.</summary>
    public static ParseResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new LanguageModelOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name is "--help" or "-h" or "-?") return new ParseResult(null, true, null);
            string[] known = { "--data", "--tokenizer", "--attention", "--steps", "--seed", "--device", "--out", "--prompt", "--generate", "--threads" };
            if (!known.Contains(name)) return Fail($"Unknown option '{name}'.");
            if (i + 1 >= args.Count) return Fail($"Option '{name}' needs a value.");
            string value = args[++i];
            string? error = null;
            switch (name)
            {
                case "--data":
                    options = options with { DataPath = value };
                    if (!File.Exists(value)) error = $"--data: the file '{value}' does not exist.";
                    break;
                case "--tokenizer":
                    if (value is "byte" or "cl100k") options = options with { Tokenizer = value };
                    else error = $"--tokenizer must be byte or cl100k; got '{value}'.";
                    break;
                case "--attention":
                    AttentionKind? kind = value switch
                    {
                        "v1" => AttentionKind.Differential,
                        "v2" => AttentionKind.DifferentialV2,
                        "softmax" => AttentionKind.Softmax,
                        _ => null,
                    };
                    if (kind is { } k) options = options with { Attention = k };
                    else error = $"--attention must be v1, v2 or softmax; got '{value}'.";
                    break;
                case "--steps":
                    if (PositiveInt(value) is { } steps) options = options with { Steps = steps };
                    else error = $"--steps must be a whole number >= 1; got '{value}'.";
                    break;
                case "--seed":
                    if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int seed)) options = options with { Seed = seed };
                    else error = $"--seed must be a whole number; got '{value}'.";
                    break;
                case "--device":
                    if (value is "cpu" or "cuda") options = options with { Device = value };
                    else error = $"--device must be cpu or cuda; got '{value}'.";
                    break;
                case "--out":
                    if (!string.IsNullOrWhiteSpace(value) && value.IndexOfAny(Path.GetInvalidPathChars()) < 0) options = options with { OutputDirectory = value };
                    else error = $"--out must be a directory path; got '{value}'.";
                    break;
                case "--prompt":
                    options = options with { Prompt = value };
                    break;
                case "--generate":
                    if (PositiveInt(value) is { } count) options = options with { GenerateTokens = count };
                    else error = $"--generate must be a whole number >= 1; got '{value}'.";
                    break;
                case "--threads":
                    if (PositiveInt(value) is { } threads && threads <= 256) options = options with { Threads = threads };
                    else error = $"--threads must be a whole number from 1 to 256; got '{value}'.";
                    break;
            }
            if (error is not null) return Fail(error);
        }
        return new ParseResult(options, false, null);
    }

    private static int? PositiveInt(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n : null;

    private static ParseResult Fail(string message) => new(null, false, message + " Run with --help for the options.");
}

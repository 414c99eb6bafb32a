using System.Globalization;

namespace AttentionNoiseExplorer;

/// <summary>What the command line asked for: options to run with, the help text, or an error.</summary>
/// <param name="Options">The options when the command line was valid and did not ask for help.</param>
/// <param name="ShowHelp">True for <c>--help</c>.</param>
/// <param name="Error">Why the command line was rejected.</param>
public sealed record ParseResult(ExplorerOptions? Options, bool ShowHelp, string? Error);

/// <summary>Parses the explorer's command line.</summary>
public static class OptionsParser
{
    /// <summary>The exit code of a rejected command line.</summary>
    public const int UsageExitCode = 2;

    /// <summary>The help text.</summary>
    public const string Usage =
        """
        Loads a DiffTransformer checkpoint, runs one prompt and draws, per layer and head, the two softmax maps A1 and A2,
        lambda and the differential map A1 - lambda * A2 (softmax checkpoints: the one map).

        Usage: dotnet run --project samples/AttentionNoiseExplorer -c Release -- --checkpoint DIR [options]

        Options:
          --checkpoint DIR   checkpoint directory, e.g. lm-run/checkpoint from samples/TrainLanguageModel (required)
          --prompt TEXT      text to run (default "The small cat sleeps in the garden.")
          --tokenizer NAME   byte or cl100k (default: the checkpoint's "tokenizer" metadata)
          --layer N          draw only layer N (default: every layer)
          --out DIR          where the PNG files go (default attention-maps)
          --help             show this text
        """;

    /// <summary>Parses <paramref name="args"/>; never throws for bad input.</summary>
    public static ParseResult Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ExplorerOptions();
        bool hasCheckpoint = false;
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (name is "--help" or "-h" or "-?") return new ParseResult(null, true, null);
            if (name is not ("--checkpoint" or "--prompt" or "--tokenizer" or "--layer" or "--out")) return Fail($"Unknown option '{name}'.");
            if (i + 1 >= args.Count) return Fail($"Option '{name}' needs a value.");
            string value = args[++i];
            switch (name)
            {
                case "--checkpoint":
                    if (!Directory.Exists(value)) return Fail($"--checkpoint: the directory '{value}' does not exist.");
                    options = options with { CheckpointDirectory = value };
                    hasCheckpoint = true;
                    break;
                case "--prompt":
                    if (value.Length == 0) return Fail("--prompt must not be empty.");
                    options = options with { Prompt = value };
                    break;
                case "--tokenizer":
                    if (value is not ("byte" or "cl100k")) return Fail($"--tokenizer must be byte or cl100k; got '{value}'.");
                    options = options with { Tokenizer = value };
                    break;
                case "--layer":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
                        return Fail($"--layer must be a whole number >= 0; got '{value}'.");
                    options = options with { Layer = layer };
                    break;
                case "--out":
                    if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
                        return Fail($"--out must be a directory path; got '{value}'.");
                    options = options with { OutputDirectory = value };
                    break;
            }
        }
        if (!hasCheckpoint) return Fail("--checkpoint DIR is required (for example lm-run/checkpoint, written by samples/TrainLanguageModel).");
        return new ParseResult(options, false, null);
    }

    private static ParseResult Fail(string message) => new(null, false, message + " Run with --help for the options.");
}

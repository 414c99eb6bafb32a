using System.CommandLine;
using DiffTransformer.Samples;

namespace AttentionNoiseExplorer;

/// <summary>Parses the explorer's command line with System.CommandLine; the defaults are <see cref="ExplorerOptions"/>'s.</summary>
public static class OptionsParser
{
    private static readonly ExplorerOptions Defaults = new();

    private static readonly Option<DirectoryInfo> Checkpoint = new Option<DirectoryInfo>("--checkpoint")
    {
        Description = "checkpoint directory (config.json + model.safetensors), e.g. lm-run/checkpoint from samples/TrainLanguageModel",
        HelpName = "DIR",
        Required = true,
    }.AcceptExistingOnly();

    private static readonly Option<string> Prompt = NonEmptyPrompt();

    private static readonly Option<string> Tokenizer = SampleCommandLine.OneOf(
        "--tokenizer", "byte or cl100k (default: the checkpoint's \"tokenizer\" metadata)", null, "byte", "cl100k");

    private static readonly Option<int> Layer = SampleCommandLine.WholeNumber<int>(
        "--layer", "draw only layer N, counted from 0 (default: every layer)", null, 0, int.MaxValue);

    private static readonly Option<string> Output = SampleCommandLine.OutputDirectory("--out", "where the PNG files go", Defaults.OutputDirectory);

    /// <summary>The command: its options, their descriptions and defaults; it also writes the help.</summary>
    internal static readonly RootCommand Command = SampleCommandLine.Root(
        "Loads a DiffTransformer checkpoint, runs one prompt and draws, per layer and head, the two softmax maps A1 and A2, "
        + "lambda and the differential map A1 - lambda * A2 (softmax checkpoints: the one map).",
        "AttentionNoiseExplorer", Checkpoint, Prompt, Tokenizer, Layer, Output);

    /// <summary>The help text.</summary>
    public static string Usage => SampleCommandLine.Help(Command);

    /// <summary>Parses <paramref name="args"/>; never throws for bad input.</summary>
    public static ParsedCommandLine<ExplorerOptions> Parse(IReadOnlyList<string> args) => SampleCommandLine.Parse(Command, args, Read);

    private static ExplorerOptions Read(ParseResult result) => Defaults with
    {
        CheckpointDirectory = result.GetRequiredValue(Checkpoint).ToString(),
        Prompt = result.GetRequiredValue(Prompt),
        Tokenizer = result.GetValue(Tokenizer),
        Layer = result.GetResult(Layer) is null ? null : result.GetValue(Layer),
        OutputDirectory = result.GetRequiredValue(Output),
    };

    private static Option<string> NonEmptyPrompt()
    {
        var option = new Option<string>("--prompt") { Description = "text to run", HelpName = "TEXT", DefaultValueFactory = _ => Defaults.Prompt };
        option.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value.Length: 0 }]) result.AddError("--prompt must not be empty.");
        });
        return option;
    }
}

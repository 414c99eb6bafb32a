using System.CommandLine;
using DiffTransformer;
using DiffTransformer.Samples;

namespace TrainLanguageModel;

/// <summary>Parses the sample's command line with System.CommandLine; the defaults are <see cref="LanguageModelOptions"/>'s.</summary>
public static class OptionsParser
{
    private static readonly LanguageModelOptions Defaults = new();

    private static readonly Dictionary<string, AttentionKind> AttentionKinds = new()
    {
        ["v1"] = AttentionKind.Differential,
        ["v2"] = AttentionKind.DifferentialV2,
        ["softmax"] = AttentionKind.Softmax,
    };

    private static readonly Option<FileInfo> Data = new Option<FileInfo>("--data")
    {
        Description = "UTF-8 text to train on (default: a corpus the sample generates itself)",
        HelpName = "FILE",
    }.AcceptExistingOnly();

    private static readonly Option<string> Tokenizer = SampleCommandLine.OneOf(
        "--tokenizer", "byte (vocabulary 256) or cl100k (the paper's tokenizer)", Defaults.Tokenizer, "byte", "cl100k");

    private static readonly Option<string> Attention = SampleCommandLine.OneOf(
        "--attention", "Differential Transformer V1, V2, or a softmax baseline",
        AttentionKinds.Single(kind => kind.Value == Defaults.Attention).Key, [.. AttentionKinds.Keys]);

    private static readonly Option<int> Steps = SampleCommandLine.WholeNumber("--steps", "training steps", Defaults.Steps, 1, int.MaxValue);

    private static readonly Option<long> Seed = SampleCommandLine.WholeNumber(
        "--seed", "seed of batches, initial weights and sampling", Defaults.Seed, long.MinValue, long.MaxValue);

    private static readonly Option<string> Device = SampleCommandLine.DeviceOption("where the model trains", Defaults.Device);

    private static readonly Option<string> Output = SampleCommandLine.OutputDirectory(
        "--out", "output directory; the checkpoint goes to DIR/checkpoint", Defaults.OutputDirectory);

    // No DefaultValueFactory: help would show the default's trailing space as "[default: The ]".
    private static readonly Option<string> Prompt = new("--prompt")
    {
        Description = $"text to continue after training (default \"{Defaults.Prompt}\")",
        HelpName = "TEXT",
    };

    private static readonly Option<int> Generate = SampleCommandLine.WholeNumber("--generate", "tokens to generate", Defaults.GenerateTokens, 1, int.MaxValue);

    private static readonly Option<int> Threads = SampleCommandLine.WholeNumber("--threads", "LibTorch CPU threads", Defaults.Threads, 1, 256);

    /// <summary>The command: its options, their descriptions and defaults; it also writes the help.</summary>
    internal static readonly RootCommand Command = SampleCommandLine.Root(
        "Trains a small Differential Transformer language model on a text file, saves a checkpoint and generates from it.",
        "TrainLanguageModel", Data, Tokenizer, Attention, Steps, Seed, Device, Output, Prompt, Generate, Threads);

    /// <summary>The help text.</summary>
    public static string Usage => SampleCommandLine.Help(Command);

    /// <summary>Parses <paramref name="args"/>; never throws for bad input.</summary>
    public static ParsedCommandLine<LanguageModelOptions> Parse(IReadOnlyList<string> args) => SampleCommandLine.Parse(Command, args, Read);

    private static LanguageModelOptions Read(ParseResult result) => Defaults with
    {
        DataPath = result.GetValue(Data)?.ToString(),
        Tokenizer = result.GetRequiredValue(Tokenizer),
        Attention = AttentionKinds[result.GetRequiredValue(Attention)],
        Steps = result.GetValue(Steps),
        Seed = result.GetValue(Seed),
        Device = result.GetRequiredValue(Device),
        OutputDirectory = result.GetRequiredValue(Output),
        Prompt = result.GetValue(Prompt) ?? Defaults.Prompt,
        GenerateTokens = result.GetValue(Generate),
        Threads = result.GetValue(Threads),
    };
}

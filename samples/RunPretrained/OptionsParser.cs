using System.CommandLine;
using System.Globalization;
using DiffTransformer.Samples;

namespace RunPretrained;

/// <summary>Parses the sample's command line with System.CommandLine; the defaults are <see cref="RunOptions"/>'s.</summary>
public static class OptionsParser
{
    private static readonly RunOptions Defaults = new();

    private static readonly Option<DirectoryInfo> Model = new Option<DirectoryInfo>("--model")
    {
        Description = "Hugging Face model directory (config.json, model.safetensors or shards, tokenizer.model or tokenizer.json), "
            + "as save_pretrained writes it; model_type llama or diffllama",
        HelpName = "DIR",
        Required = true,
    }.AcceptExistingOnly();

    private static readonly Option<string> Prompt = NonEmptyPrompt();

    private static readonly Option<int> MaxNewTokens = SampleCommandLine.WholeNumber(
        "--max-new-tokens", "most tokens to generate (fewer when the model emits a stop token)", Defaults.MaxNewTokens, 1, int.MaxValue);

    private static readonly Option<string> Device = SampleCommandLine.DeviceOption("where the model runs", Defaults.Device);

    private static readonly Option<string> DType = SampleCommandLine.OneOf(
        "--dtype", "dtype the weights are loaded in, whatever the stored one", Defaults.DType, "float32", "bfloat16", "float16");

    private static readonly Option<double> Temperature = NonNegativeNumber("--temperature", "0 decodes greedily; above 0 samples from softmax(logits / T)", Defaults.Temperature);

    private static readonly Option<long> Seed = SampleCommandLine.WholeNumber<long>(
        "--seed", "seed of the sampling (default: TorchSharp's global generator)", null, long.MinValue, long.MaxValue);

    /// <summary>The command: its options, their descriptions and defaults; it also writes the help.</summary>
    internal static readonly RootCommand Command = SampleCommandLine.Root(
        "Loads a Hugging Face Llama or DiffLlama checkpoint with its tokenizer, streams the continuation of a prompt token "
        + "by token until a stop token or --max-new-tokens, then prints tokens/s.",
        "RunPretrained", Model, Prompt, MaxNewTokens, Device, DType, Temperature, Seed);

    /// <summary>The help text.</summary>
    public static string Usage => SampleCommandLine.Help(Command);

    /// <summary>Parses <paramref name="args"/>; never throws for bad input.</summary>
    public static ParsedCommandLine<RunOptions> Parse(IReadOnlyList<string> args) => SampleCommandLine.Parse(Command, args, Read);

    private static RunOptions Read(ParseResult result) => Defaults with
    {
        ModelDirectory = result.GetRequiredValue(Model).ToString(),
        Prompt = result.GetRequiredValue(Prompt),
        MaxNewTokens = result.GetValue(MaxNewTokens),
        Device = result.GetRequiredValue(Device),
        DType = result.GetRequiredValue(DType),
        Temperature = result.GetValue(Temperature),
        Seed = result.GetResult(Seed) is null ? null : result.GetValue(Seed),
    };

    private static Option<string> NonEmptyPrompt()
    {
        var option = new Option<string>("--prompt") { Description = "text to continue", HelpName = "TEXT", Required = true };
        option.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value.Length: 0 }]) result.AddError("--prompt must not be empty.");
        });
        return option;
    }

    private static Option<double> NonNegativeNumber(string name, string description, double defaultValue)
    {
        var option = new Option<double>(name) { Description = description, HelpName = "T", DefaultValueFactory = _ => defaultValue };
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value) && value >= 0)
                return value;
            result.AddError($"{name} must be a number >= 0; got '{text}'.");
            return default;
        };
        return option;
    }
}

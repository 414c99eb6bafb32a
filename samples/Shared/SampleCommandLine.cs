using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using TorchSharp;

namespace DiffTransformer.Samples;

/// <summary>What a sample's command line asked for: options to run with, the help text, or an error.</summary>
/// <typeparam name="TOptions">The sample's options record.</typeparam>
/// <param name="Options">The options when the command line was valid and did not ask for help.</param>
/// <param name="ShowHelp">True for <c>--help</c>.</param>
/// <param name="Error">Why the command line was rejected: each bad option with its rule and value.</param>
public sealed record ParsedCommandLine<TOptions>(TOptions? Options, bool ShowHelp, string? Error)
    where TOptions : class;

/// <summary>
/// The command-line conventions the samples share, on top of System.CommandLine: options with the samples' value
/// rules, a side-effect-free parse into options / help / error, the generated help as text, and exit code 2 for a
/// rejected command line. Linked into each sample as source, so it stays internal to each.
/// </summary>
internal static class SampleCommandLine
{
    /// <summary>The exit code of a rejected command line (System.CommandLine's own default is 1).</summary>
    public const int UsageExitCode = 2;

    /// <summary>The root command of a sample: its description, the <c>dotnet run</c> line as usage, the options.</summary>
    public static RootCommand Root(string description, string project, params Option[] options)
    {
        var root = new RootCommand(description) { HelpName = $"dotnet run --project samples/{project} -c Release --" };
        // The samples have no version of their own to report.
        foreach (var version in root.Options.OfType<VersionOption>().ToList()) root.Options.Remove(version);
        foreach (var option in options) root.Options.Add(option);
        return root;
    }

    /// <summary>A whole-number option in [<paramref name="min"/>, <paramref name="max"/>]; null <paramref name="defaultValue"/>: no default.</summary>
    public static Option<T> WholeNumber<T>(string name, string description, T? defaultValue, T min, T max)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        string rule = (min == T.MinValue, max == T.MaxValue) switch
        {
            (true, true) => "a whole number",
            (false, true) => Invariant($"a whole number >= {min}"),
            (true, false) => Invariant($"a whole number <= {max}"),
            _ => Invariant($"a whole number from {min} to {max}"),
        };
        var style = min < T.Zero ? NumberStyles.AllowLeadingSign : NumberStyles.None;
        var option = new Option<T>(name) { Description = description, HelpName = "N" };
        if (defaultValue is { } value) option.DefaultValueFactory = _ => value;
        option.CustomParser = result =>
        {
            string text = LastToken(result);
            if (T.TryParse(text, style, CultureInfo.InvariantCulture, out T parsed) && parsed >= min && parsed <= max) return parsed;
            result.AddError($"{name} must be {rule}; got '{text}'.");
            return default;
        };
        return option;
    }

    /// <summary>An option that takes one of <paramref name="values"/>, in any letter case; the value comes back as listed.</summary>
    public static Option<string> OneOf(string name, string description, string? defaultValue, params string[] values)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            CustomParser = result =>
            {
                string text = LastToken(result);
                return values.FirstOrDefault(v => string.Equals(v, text, StringComparison.OrdinalIgnoreCase)) ?? text;
            },
        };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, values);
        return option;
    }

    /// <summary>
    /// <c>--device cpu|cuda</c>; <c>cuda</c> is rejected when CUDA is not available (the samples reference TorchSharp-cpu),
    /// so the command line fails with exit code 2 before anything runs. <see cref="ResolveDevice"/> turns the value into a device.
    /// </summary>
    public static Option<string> DeviceOption(string description, string defaultValue)
    {
        var option = OneOf("--device", description, defaultValue, "cpu", "cuda");
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() == "cuda" && !torch.cuda.is_available()) result.AddError(CudaUnavailable);
        });
        return option;
    }

    /// <summary>The device for "cpu" or "cuda"; a clear error when CUDA is not there.</summary>
    /// <exception cref="ArgumentException">CUDA is not available, or the name is neither.</exception>
    public static torch.Device ResolveDevice(string name) => name switch
    {
        "cpu" => torch.CPU,
        "cuda" when torch.cuda.is_available() => torch.CUDA,
        "cuda" => throw new ArgumentException(CudaUnavailable, nameof(name)),
        _ => throw new ArgumentException($"device must be cpu or cuda; got '{name}'.", nameof(name)),
    };

    private const string CudaUnavailable =
        "--device cuda: CUDA is not available. This sample references TorchSharp-cpu; reference TorchSharp-cuda-linux " +
        "or TorchSharp-cuda-windows instead and run on a machine with an NVIDIA GPU.";

    /// <summary>A directory to write to: a legal path, not blank.</summary>
    public static Option<string> OutputDirectory(string name, string description, string defaultValue)
    {
        var option = new Option<string>(name) { Description = description, HelpName = "DIR", DefaultValueFactory = _ => defaultValue };
        option.AcceptLegalFilePathsOnly();
        option.Validators.Add(result =>
        {
            if (result.Tokens is [var token] && string.IsNullOrWhiteSpace(token.Value))
                result.AddError($"{name} must be a directory path; got '{token.Value}'.");
        });
        return option;
    }

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="command"/> and reads the options with
    /// <paramref name="read"/> when the command line is valid and does not ask for help. Never throws for bad input.
    /// </summary>
    public static ParsedCommandLine<TOptions> Parse<TOptions>(
        RootCommand command, IReadOnlyList<string> args, Func<ParseResult, TOptions> read)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = command.Parse(args);
        if (result.Action is HelpAction) return new(null, true, null);
        if (result.Errors.Count > 0) return new(null, false, Explain(result.Errors));
        return new(read(result), false, null);
    }

    /// <summary>The help System.CommandLine writes for <paramref name="command"/>: description, usage, each option.</summary>
    public static string Help(RootCommand command)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        command.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = writer });
        return writer.ToString().TrimEnd();
    }

    /// <summary>For a command line that gave no options: prints the help (exit 0) or the error (exit 2).</summary>
    public static int PrintHelpOrError(RootCommand command, string? error)
    {
        if (error is null)
        {
            Console.WriteLine(Help(command));
            return 0;
        }
        Console.Error.WriteLine(error);
        return UsageExitCode;
    }

    /// <summary>One line per error, each naming its option, then where the options are explained.</summary>
    private static string Explain(IReadOnlyList<ParseError> errors)
    {
        var lines = errors.Select(error =>
        {
            // Some of System.CommandLine's messages ("File does not exist: 'x'.") leave the option out, and one spans lines.
            string message = string.Join(' ', error.Message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            string? option = error.SymbolResult switch
            {
                OptionResult o => o.Option.Name,
                ArgumentResult { Parent: OptionResult o } => o.Option.Name,
                _ => null,
            };
            return option is not null && !message.Contains(option, StringComparison.Ordinal) ? $"{option}: {message}" : message;
        });
        return string.Join(Environment.NewLine, lines.Distinct().Append("Run with --help for the options."));
    }

    private static string LastToken(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

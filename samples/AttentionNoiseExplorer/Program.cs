using AttentionNoiseExplorer;
using DiffTransformer.Samples;

// Thin entry point: parse, explore, print a summary per head and the picture paths.
var parsed = OptionsParser.Parse(args);
if (parsed.Options is not { } options) return SampleCommandLine.PrintHelpOrError(OptionsParser.Command, parsed.Error);

ExplorerResult result;
try
{
    result = Explorer.Run(options);
}
catch (Exception error) when (error is ArgumentException or InvalidDataException or FileNotFoundException)
{
    Console.Error.WriteLine(error.Message);
    return SampleCommandLine.UsageExitCode;
}

Console.WriteLine($"{result.Kind} checkpoint, {result.Tokenizer} tokenizer, {result.TokenLabels.Count} prompt tokens: {string.Join(" ", result.TokenLabels)}");
Console.WriteLine(Summary.Header);
foreach (var line in Summary.Lines(result)) Console.WriteLine(line);
Console.WriteLine("Written:");
foreach (var path in result.Pictures) Console.WriteLine("  " + path);
return 0;

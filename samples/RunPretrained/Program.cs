using DiffTransformer.Samples;
using RunPretrained;

// Thin entry point: parse, load with a progress display, stream the continuation, print tokens/s.
var parsed = OptionsParser.Parse(args);
if (parsed.Options is not { } options) return SampleCommandLine.PrintHelpOrError(OptionsParser.Command, parsed.Error);

try
{
    PretrainedRun.Run(options, Console.Out);
}
catch (Exception error) when (error is ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
{
    // A directory without config.json, weights or tokenizer, files that cannot be read, a tokenizer that does not fit
    // the model, a context too short: explained in one message, exit code 2 like a bad option.
    Console.Error.WriteLine(error.Message);
    return SampleCommandLine.UsageExitCode;
}
return 0;

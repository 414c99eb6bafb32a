using DiffTransformer.Samples;
using Spectre.Console;
using TrainLanguageModel;

// Thin entry point: parse, train with a progress bar, save, generate, print.
var parsed = OptionsParser.Parse(args);
if (parsed.Options is not { } options) return SampleCommandLine.PrintHelpOrError(OptionsParser.Command, parsed.Error);

// Redirected output gets 80 columns by default, too narrow for the table.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
if (options.DataPath is null)
    AnsiConsole.MarkupLine("[yellow]No --data file given: training on a corpus this sample generates itself (simple English-like sentences).[/]");
LanguageModelResult result;
try
{
    result = null!;
    AnsiConsole.Progress()
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
        .Start(context =>
        {
            var bar = context.AddTask("training", maxValue: options.Steps);
            result = LanguageModelRun.Run(options, p =>
            {
                bar.Value = p.Step;
                string validation = p.Validation is { } v ? $", val {v.Loss:F2}" : "";
                bar.Description = Markup.Escape($"loss {p.Loss:F2}{validation}");
            });
        });
}
catch (ArgumentException error)
{
    Console.Error.WriteLine(error.Message);
    return SampleCommandLine.UsageExitCode;
}

AnsiConsole.Write(Report.ConsoleTable(result));
AnsiConsole.MarkupLine("[bold]Generated[/] (temperature 0.8, top-k 40):");
AnsiConsole.WriteLine(result.Prompt + result.Generated);
var (markdown, picture) = Report.Write(result, options.OutputDirectory);
AnsiConsole.WriteLine($"Written: {markdown}, {picture}; checkpoint: {result.CheckpointDirectory}");
AnsiConsole.WriteLine($"Explore its attention: dotnet run --project samples/AttentionNoiseExplorer -c Release -- --checkpoint {result.CheckpointDirectory}");
return 0;

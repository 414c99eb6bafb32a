using DiffTransformer.Samples;
using NeedleInAHaystack;
using Spectre.Console;

// Thin entry point: parse, run with progress bars, print the table, write the report.
var parsed = OptionsParser.Parse(args);
if (parsed.Options is not { } options) return SampleCommandLine.PrintHelpOrError(OptionsParser.Command, parsed.Error);

// Redirected output gets 80 columns by default, too narrow for the results table.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 150);
AnsiConsole.MarkupLine($"[bold]Needle in a haystack:[/] Diff V1, Diff V2 and softmax, {options.Steps} steps each, seed {options.Seed}, {options.Device}.");
ExperimentResults results = null!;
AnsiConsole.Progress()
    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
    .Start(context =>
    {
        var bars = new Dictionary<int, ProgressTask>();
        var accuracy = new Dictionary<int, string>();
        results = ExperimentRunner.Run(options, p =>
        {
            if (!bars.TryGetValue(p.Model, out var bar))
                bars[p.Model] = bar = context.AddTask(p.Name, maxValue: p.TotalSteps);
            bar.Value = p.Step;
            if (p.Validation is { } v) accuracy[p.Model] = $", val acc {100 * v.Accuracy:F0}%";
            if (p.Step % 10 == 0 || p.Step == p.TotalSteps || p.Validation is not null)
                bar.Description = Markup.Escape($"{p.Name,-8} loss {p.Loss:F2}{accuracy.GetValueOrDefault(p.Model, "")}");
        });
    });

AnsiConsole.Write(ReportWriter.ConsoleTable(results));
var report = ReportWriter.Write(results, options.OutputDirectory);
AnsiConsole.MarkupLine($"Finished in {results.Elapsed.TotalSeconds:F0} s. Written:");
foreach (var path in report.Pictures.Prepend(report.Markdown)) AnsiConsole.WriteLine("  " + path);
return 0;

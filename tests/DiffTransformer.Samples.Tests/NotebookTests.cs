using System.Text.Json;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;

namespace DiffTransformer.Samples.Tests;

/// <summary>
/// Runs every code cell of every notebook in samples/notebooks, in order, through the C# notebook kernel, against the
/// assemblies built from this repository. The cell tagged "references" (the NuGet references real users run) is
/// replaced by #r of the local assemblies; after the cell tagged "parameters" a cell with smaller settings is injected,
/// as papermill does, so the notebook runs its own code quickly.
/// </summary>
public class NotebookTests
{
    /// <summary>Settings the test injects after each notebook's parameters cell.</summary>
    private const string SmallParameters = "var steps = 4;\nvar validationExamples = 16;";

    private static readonly string[] LocalAssemblies = { "TorchSharp.dll", "DiffTransformer.dll", "DiffTransformer.Tokenizers.dll", "ScottPlot.dll" };

    public static TheoryData<string> Notebooks() => new(NotebookNames());

    [Fact]
    public void EveryNotebookIsTested() => Assert.Equal(new[] { "attention-maps.ipynb", "quick-start.ipynb", "side-by-side.ipynb" }, NotebookNames());

    private static string[] NotebookNames() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "notebooks"), "*.ipynb").Select(p => Path.GetFileName(p)).Order().ToArray();

    [Theory]
    [MemberData(nameof(Notebooks))]
    public async Task EveryCellRuns(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "notebooks", name);
        var cells = CodeCells(path);
        Assert.Single(cells, c => c.Tags.Contains("references"));
        Assert.Single(cells, c => c.Tags.Contains("parameters"));

        using var kernel = new CSharpKernel().UseKernelHelpers();
        var output = new System.Text.StringBuilder();
        foreach (var cell in cells)
        {
            string code = cell.Tags.Contains("references")
                ? string.Join("\n", LocalAssemblies.Select(a => $"#r \"{Path.Combine(AppContext.BaseDirectory, a)}\""))
                : cell.Code;
            output.Append(await Submit(kernel, code, $"{name}, cell {cell.Index}"));
            if (cell.Tags.Contains("parameters")) await Submit(kernel, SmallParameters, $"{name}, injected parameters");
        }
        TestContext.Current.TestOutputHelper?.WriteLine(output.ToString());
        foreach (string expected in ExpectedOutput[name]) Assert.Contains(expected, output.ToString());
    }

    /// <summary>Lines each notebook must print: the claims its cells check, not only that they ran.</summary>
    private static readonly Dictionary<string, string[]> ExpectedOutput = new()
    {
        ["quick-start.ipynb"] = new[] { "Differential: ", "reloaded model gives the same logits: True", "config.json, generation_config.json, model.safetensors", "reloaded Hugging Face model gives the same logits: True" },
        ["attention-maps.ipynb"] = new[] { "lambda of the last layer: ", "final query: " },
        ["side-by-side.ipynb"] = new[] { "Diff V1: ", "Softmax: " },
    };

    private static async Task<string> Submit(Kernel kernel, string code, string where)
    {
        var result = await kernel.SendAsync(new SubmitCode(code));
        string output = string.Concat(result.Events.OfType<StandardOutputValueProduced>()
            .SelectMany(e => e.FormattedValues).Where(v => v.MimeType == "text/plain").Select(v => v.Value));
        var failures = result.Events.OfType<CommandFailed>().Select(f => f.Message)
            .Concat(result.Events.OfType<DiagnosticsProduced>().SelectMany(d => d.Diagnostics)
                .Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error).Select(d => d.ToString()))
            .ToList();
        Assert.True(failures.Count == 0, $"{where} failed:\n{string.Join("\n", failures)}\n--- code ---\n{code}");
        return output;
    }

    private sealed record Cell(int Index, string Code, IReadOnlyList<string> Tags);

    /// <summary>The code cells in order, read with the notebook document API; tags from the cell metadata.</summary>
    private static List<Cell> CodeCells(string path)
    {
        var document = Notebook.Parse(File.ReadAllText(path), new KernelInfoCollection { new("csharp", languageName: "C#") });
        var cells = new List<Cell>();
        int index = 0;
        foreach (var element in document.Elements)
        {
            index++;
            if (element.KernelName != "csharp") continue;
            cells.Add(new Cell(index, element.Contents, Tags(element)));
        }
        Assert.NotEmpty(cells);
        return cells;
    }

    private static IReadOnlyList<string> Tags(InteractiveDocumentElement element)
    {
        if (element.Metadata is null || !element.Metadata.TryGetValue("tags", out var tags) || tags is null) return Array.Empty<string>();
        return tags switch
        {
            JsonElement json when json.ValueKind == JsonValueKind.Array => json.EnumerateArray().Select(t => t.GetString()!).ToArray(),
            IEnumerable<object> list => list.Select(t => t.ToString()!).ToArray(),
            _ => throw new InvalidDataException($"Unexpected tags {tags.GetType()}"),
        };
    }
}

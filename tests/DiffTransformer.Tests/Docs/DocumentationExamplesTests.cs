using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace DiffTransformer.Tests;

/// <summary>
/// Every <c>```csharp</c> block in README.md, docs/*.md and the package READMEs compiles against the library as it is,
/// as a top-level program with the SDK's implicit usings (blocks marked <c>```csharp no-compile</c>, such as
/// signatures, are skipped); the README's quick start also runs.
/// </summary>
public partial class DocumentationExamplesTests
{
    [GeneratedRegex(@"^```csharp(?<flags>[^\n]*)\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    public static TheoryData<string, int> Examples()
    {
        var data = new TheoryData<string, int>();
        foreach (var file in DocumentFiles())
            for (int i = 0; i < Blocks(file).Count; i++) data.Add(file, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void ExampleCompiles(string file, int index)
    {
        string code = Blocks(file)[index];
        var errors = Compile(code).GetDiagnostics(TestContext.Current.CancellationToken)
            .Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, $"{file}, C# example {index + 1} does not compile:\n{string.Join("\n", errors)}\n---\n{code}");
    }

    [Fact]
    public async Task ReadmeQuickStartRuns()
    {
        string code = Blocks("README.md")[0];
        Assert.Contains("new DiffTransformerLM", code);
        using var image = new MemoryStream();
        var emitted = Compile(code).Emit(image, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        var entryPoint = Assembly.Load(image.ToArray()).EntryPoint!;
        // The quick start saves a checkpoint in its working directory: give it a scratch one.
        string previous = Directory.GetCurrentDirectory();
        string scratch = Directory.CreateTempSubdirectory("quick-start-").FullName;
        try
        {
            Directory.SetCurrentDirectory(scratch);
            var result = entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : new object[] { Array.Empty<string>() });
            if (result is Task task) await task;
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public void TheReadmeHasCode()
    {
        Assert.Contains("README.md", DocumentFiles());
        Assert.NotEmpty(Blocks("README.md"));
    }

    private static CSharpCompilation Compile(string code)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        return CSharpCompilation.Create("DocumentationExample",
            new[] { CSharpSyntaxTree.ParseText(code, parse), CSharpSyntaxTree.ParseText(ImplicitUsings, parse) },
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
    }

    /// <summary>The framework as this process runs it, plus the library, its tokenizer companion and TorchSharp.</summary>
    private static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(new[] { typeof(DiffTransformerLM).Assembly.Location, typeof(TorchSharp.torch).Assembly.Location, typeof(Cl100kTokenizer).Assembly.Location })
            .Distinct()
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray());

    /// <summary>The compiled C# blocks of a document, by path relative to the repository root.</summary>
    private static List<string> Blocks(string relativePath) =>
        CodeBlock().Matches(File.ReadAllText(Path.Combine(Repository.Root, relativePath)))
            .Where(m => !m.Groups["flags"].Value.Contains("no-compile"))
            .Select(m => m.Groups["code"].Value)
            .ToList();

    private static IEnumerable<string> DocumentFiles()
    {
        yield return "README.md";
        foreach (var path in Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Order())
            yield return Path.GetRelativePath(Repository.Root, path);
        foreach (var path in Directory.GetFiles(Path.Combine(Repository.Root, "src"), "PACKAGE.md", SearchOption.AllDirectories).Order())
            yield return Path.GetRelativePath(Repository.Root, path);
    }
}

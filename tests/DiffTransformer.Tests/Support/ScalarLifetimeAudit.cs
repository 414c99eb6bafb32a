using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace DiffTransformer.Tests;

/// <summary>
/// Finds code that lets TorchSharp 0.107 create a <c>Scalar</c> nobody keeps alive. Such a Scalar can be finalized by
/// the GC while the native call that reads it is still running (TorchSharp passes raw handles without
/// <c>GC.KeepAlive</c>), which shows up as random "Expected false to be true ... toFloat" errors or wrong values.
/// Flagged: implicit conversions of numbers to <c>Scalar</c>, tensor operators with a number operand, and the
/// TorchSharp members that make such a Scalar internally (<c>a + b</c> on tensors adds with a hidden <c>alpha = 1</c>).
/// </summary>
internal static class ScalarLifetimeAudit
{
    /// <summary>TorchSharp members that create an unreferenced Scalar themselves.</summary>
    private static readonly HashSet<string> RiskyMembers = new()
    {
        "op_Addition", "op_Subtraction", "op_Multiply", "op_Division", // only with a number operand, or Tensor + Tensor
        "add", "add_", // the one-argument overloads: alpha = 1 is made on the fly
    };

    public static IReadOnlyList<string> Findings(string sourceRoot, IEnumerable<string> referencePaths)
    {
        var trees = Directory.GetFiles(sourceRoot, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Select(p => CSharpSyntaxTree.ParseText(File.ReadAllText(p), new CSharpParseOptions(LanguageVersion.Latest), p))
            .ToList();
        var usings = CSharpSyntaxTree.ParseText("global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks;");
        var compilation = CSharpCompilation.Create("Audit", trees.Append(usings),
            referencePaths.Select(p => MetadataReference.CreateFromFile(p)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(5).ToList();
        if (errors.Count > 0) throw new InvalidOperationException("audit compilation failed:\n" + string.Join("\n", errors));

        var findings = new List<string>();
        foreach (var tree in trees)
        {
            var model = compilation.GetSemanticModel(tree);
            // Implicit conversions hang below the operation of their syntax, so walk operation trees, not syntax.
            var operations = tree.GetRoot().DescendantNodes()
                .Select(node => model.GetOperation(node))
                .Where(op => op is not null && op.Parent is null)
                .SelectMany(root => root!.DescendantsAndSelf());
            foreach (var operation in operations)
            {
                string? why = operation switch
                {
                    IConversionOperation { OperatorMethod: { } m } c when IsScalar(m.ContainingType) =>
                        $"{c.Operand.Type} -> Scalar",
                    IBinaryOperation { OperatorMethod: { } m } when IsTensor(m.ContainingType) && RiskyOperator(m) =>
                        $"tensor operator {m.Name}({string.Join(", ", m.Parameters.Select(p => p.Type.Name))})",
                    IInvocationOperation { TargetMethod: { } m } when IsTensor(m.ContainingType) && m.Name is "add" or "add_" && m.Parameters.Length == 1 =>
                        $"{m.Name}({m.Parameters[0].Type.Name}) with an implicit alpha",
                    _ => null,
                };
                if (why is null) continue;
                var line = operation.Syntax.GetLocation().GetLineSpan();
                findings.Add($"{Path.GetRelativePath(sourceRoot, tree.FilePath)}:{line.StartLinePosition.Line + 1}: {why}: {operation.Syntax}");
            }
        }
        return findings.Distinct().ToList();
    }

    private static bool RiskyOperator(IMethodSymbol m) =>
        RiskyMembers.Contains(m.Name) && (m.Parameters.Any(p => p.Type.SpecialType is not SpecialType.None) ||
                                          (m.Name == "op_Addition" && m.Parameters.All(p => IsTensor(p.Type))) ||
                                          m.Parameters.Any(p => IsScalar(p.Type)));

    private static bool IsScalar(ITypeSymbol? t) => t is { Name: "Scalar", ContainingNamespace.Name: "TorchSharp" };

    private static bool IsTensor(ITypeSymbol? t) => t is { Name: "Tensor", ContainingType.Name: "torch" };
}

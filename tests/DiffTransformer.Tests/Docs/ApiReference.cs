using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace DiffTransformer.Tests;

/// <summary>Writes docs/api.md: every public type and member of the shipped assemblies with its XML documentation.</summary>
internal static partial class ApiReference
{
    public static string Generate(params Assembly[] assemblies)
    {
        var text = new StringBuilder();
        text.AppendLine("# API reference");
        text.AppendLine();
        text.AppendLine("Generated from the XML documentation by `ApiReferenceTests` (set `DIFFTRANSFORMER_UPDATE_API_DOCS=1` and run");
        text.AppendLine("the test to regenerate it). Tensor shapes are given as `[batch, time, embedDim]` and the like.");
        foreach (var assembly in assemblies)
        {
            var docs = LoadDocs(assembly);
            text.AppendLine();
            text.AppendLine($"## Package `{assembly.GetName().Name}`");
            // The root namespace first (what users touch), then the toolkit namespaces, each in name order.
            foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.Namespace != RootNamespace).ThenBy(t => t.FullName, StringComparer.Ordinal))
                WriteType(text, type, docs);
        }
        return text.ToString().Replace("\r\n", "\n");
    }

    private const string RootNamespace = "DiffTransformer";

    private static void WriteType(StringBuilder text, Type type, Dictionary<string, XElement> docs)
    {
        text.AppendLine();
        string shown = type.Namespace == RootNamespace ? Name(type) : $"{type.Namespace}.{Name(type)}";
        text.AppendLine($"### {Kind(type)} `{shown}`");
        text.AppendLine();
        text.AppendLine(Summary(docs, "T:" + Id(type)));
        var rows = new List<(string Signature, string Summary)>();
        const BindingFlags declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        if (type.IsEnum)
        {
            foreach (var name in Enum.GetNames(type)) rows.Add(($"`{name}`", Summary(docs, $"F:{Id(type)}.{name}")));
        }
        else
        {
            foreach (var c in type.GetConstructors())
            {
                string summary = Summary(docs, $"M:{Id(type)}.#ctor{ParameterIds(c)}");
                // C# gives a class without constructors an undocumented public one; explicit ones must be documented.
                if (summary.Length == 0 && c.GetParameters().Length == 0) summary = "Creates an instance with the default settings.";
                rows.Add(($"`{Name(type).Split('<')[0]}({Parameters(c)})`", summary));
            }
            foreach (var p in type.GetProperties(declared).Where(p => p.GetMethod?.IsPublic == true))
                rows.Add(($"`{Name(p.PropertyType, Nullability.Create(p))} {p.Name}`" + (p.SetMethod?.IsPublic == true ? " (settable)" : ""), Summary(docs, $"P:{Id(type)}.{p.Name}")));
            foreach (var f in type.GetFields(declared))
                rows.Add(($"`{Name(f.FieldType, Nullability.Create(f))} {f.Name}`", Summary(docs, $"F:{Id(type)}.{f.Name}")));
            foreach (var m in type.GetMethods(declared).Where(m => !m.IsSpecialName && !IsRecordPlumbing(type, m)))
                rows.Add(($"`{(m.IsStatic ? "static " : "")}{Name(m.ReturnType, Nullability.Create(m.ReturnParameter))} {m.Name}({Parameters(m)})`", Summary(docs, $"M:{Id(type)}.{m.Name}{ParameterIds(m)}")));
        }
        if (rows.Count == 0) return;
        text.AppendLine();
        text.AppendLine("| member | description |");
        text.AppendLine("| --- | --- |");
        foreach (var (signature, summary) in rows) text.AppendLine($"| {signature.Replace("|", "\\|")} | {summary.Replace("|", "\\|")} |");
    }

    /// <summary>Compiler-made members of records (Equals, Deconstruct, ...), documented by the language rather than by us.</summary>
    private static bool IsRecordPlumbing(Type type, MethodInfo m) =>
        m.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)) || m.Name == "<Clone>$";

    private static string Kind(Type t) =>
        t.IsEnum ? "enum" : t.IsInterface ? "interface" : t.IsValueType ? "struct" : t.IsAbstract && t.IsSealed ? "static class" : "class";

    private static Dictionary<string, XElement> LoadDocs(Assembly assembly)
    {
        string path = Path.ChangeExtension(assembly.Location, ".xml");
        return XDocument.Load(path, LoadOptions.PreserveWhitespace).Descendants("member").ToDictionary(m => (string)m.Attribute("name")!, m => m);
    }

    private static string Summary(Dictionary<string, XElement> docs, string id)
    {
        if (!docs.TryGetValue(id, out var member)) return "";
        var summary = member.Element("summary") ?? member.Element("inheritdoc");
        if (summary is null || summary.Name == "inheritdoc") return "(inherited)";
        var parts = summary.Nodes().Select(n => n switch
        {
            XText t => t.Value,
            XElement { Name.LocalName: "see" or "seealso" } e => "`" + Short((string?)e.Attribute("cref") ?? (string?)e.Attribute("langword") ?? "") + "`",
            XElement { Name.LocalName: "paramref" or "typeparamref" } e => "`" + (string?)e.Attribute("name") + "`",
            XElement { Name.LocalName: "c" } e => "`" + e.Value + "`",
            XElement e => e.Value,
            _ => "",
        });
        return Whitespace().Replace(string.Concat(parts), " ").Trim();
    }

    private static string Short(string cref)
    {
        string name = cref.Length > 2 && cref[1] == ':' ? cref[2..] : cref;
        name = name.Split('(')[0];
        return name.StartsWith("DiffTransformer.") ? name["DiffTransformer.".Length..] : name.Split('.').Last();
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary>The documentation-comment ID of a type (nested types joined with '.').</summary>
    private static string Id(Type t) => t.IsGenericType && !t.IsGenericTypeDefinition
        ? $"{Id(t.GetGenericTypeDefinition()).Split('`')[0]}{{{string.Join(",", t.GetGenericArguments().Select(Id))}}}"
        : t.IsArray ? Id(t.GetElementType()!) + "[]"
        : t.IsByRef ? Id(t.GetElementType()!) + "@"
        : t.IsGenericParameter ? (t.DeclaringMethod is null ? "`" : "``") + t.GenericParameterPosition
        : (t.FullName ?? t.Name).Replace('+', '.');

    private static string ParameterIds(MethodBase m)
    {
        var parameters = m.GetParameters();
        return parameters.Length == 0 ? "" : "(" + string.Join(",", parameters.Select(p => Id(p.ParameterType))) + ")";
    }

    private static string Parameters(MethodBase m) => string.Join(", ", m.GetParameters().Select(p =>
        (p.Position == 0 && m.IsDefined(typeof(System.Runtime.CompilerServices.ExtensionAttribute)) ? "this " : "") +
        $"{Name(p.ParameterType, Nullability.Create(p))} {p.Name}" + (p.HasDefaultValue ? " = " + (p.DefaultValue is not null ? Literal(p.DefaultValue) : p.ParameterType.IsValueType && Nullable.GetUnderlyingType(p.ParameterType) is null ? "default" : "null") : "")));

    private static string Literal(object value) => value switch
    {
        string s => $"\"{s}\"",
        bool b => b ? "true" : "false",
        Enum e => $"{e.GetType().Name}.{e}",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static readonly NullabilityInfoContext Nullability = new();

    /// <summary>A readable C# name: keywords for primitives, nullable '?', generic arguments.</summary>
    private static string Name(Type t, NullabilityInfo? nullability = null)
    {
        if (nullability is { ReadState: NullabilityState.Nullable } && !t.IsValueType) return Name(t) + "?";
        if (Nullable.GetUnderlyingType(t) is { } inner) return Name(inner) + "?";
        if (t.IsArray) return Name(t.GetElementType()!) + "[]";
        if (t.IsByRef) return Name(t.GetElementType()!);
        string? keyword = Type.GetTypeCode(t) switch
        {
            TypeCode.Int32 => "int", TypeCode.Int64 => "long", TypeCode.Double => "double", TypeCode.Single => "float",
            TypeCode.Boolean => "bool", TypeCode.String => "string", TypeCode.UInt64 => "ulong", TypeCode.Byte => "byte",
            _ => null,
        };
        if (keyword is not null && !t.IsEnum) return keyword;
        if (t == typeof(void)) return "void";
        if (t == typeof(object)) return "object";
        string name = t.Name.Split('`')[0];
        if (t.IsNested && !t.IsGenericParameter) name = Name(t.DeclaringType!).Split('<')[0] + "." + name;
        return t.IsGenericType ? $"{name}<{string.Join(", ", t.GetGenericArguments().Select(a => Name(a)))}>" : name;
    }
}

using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>A key present in both the checkpoint and the module whose shape or dtype differ.</summary>
/// <param name="Key">The state-dict key.</param>
/// <param name="ModuleShape">Shape the module expects.</param>
/// <param name="ModuleType">Dtype the module expects.</param>
/// <param name="FileShape">Shape in the checkpoint.</param>
/// <param name="FileType">Dtype in the checkpoint.</param>
public sealed record KeyMismatch(string Key, long[] ModuleShape, ScalarType ModuleType, long[] FileShape, ScalarType FileType)
{
    /// <summary>True when the shapes differ.</summary>
    public bool WrongShape => !ModuleShape.SequenceEqual(FileShape);

    /// <summary>True when the dtypes differ (and the load did not allow converting them).</summary>
    public bool WrongType => ModuleType != FileType;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Key}: checkpoint has {FileType} [{string.Join(", ", FileShape)}], module expects {ModuleType} [{string.Join(", ", ModuleShape)}]";
}

/// <summary>
/// What a weight load did: the keys copied into the module and every key that did not fit. A strict load that returns
/// has empty <see cref="Missing"/>, <see cref="Unexpected"/> and <see cref="Mismatched"/>.
/// </summary>
/// <param name="Loaded">Keys copied into the module, in order.</param>
/// <param name="Missing">Module keys absent from the checkpoint (left as they were).</param>
/// <param name="Unexpected">Checkpoint keys the module does not have (ignored).</param>
/// <param name="Mismatched">Keys in both whose shape or dtype differ (left as they were).</param>
public sealed record WeightLoadReport(
    IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<KeyMismatch> Mismatched)
{
    /// <summary>True when every module key was loaded and the checkpoint held nothing else.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    /// <summary>One line per problem, for error messages and logs.</summary>
    public string Describe()
    {
        var lines = new List<string>();
        if (Missing.Count > 0) lines.Add($"{Missing.Count} missing: {string.Join(", ", Missing)}");
        if (Unexpected.Count > 0) lines.Add($"{Unexpected.Count} unexpected: {string.Join(", ", Unexpected)}");
        var shapes = Mismatched.Where(m => m.WrongShape).ToList();
        var types = Mismatched.Where(m => !m.WrongShape && m.WrongType).ToList();
        if (shapes.Count > 0) lines.Add($"{shapes.Count} wrongly shaped: {string.Join("; ", shapes)}");
        if (types.Count > 0) lines.Add($"{types.Count} wrongly typed: {string.Join("; ", types)}");
        return lines.Count == 0 ? "exact match" : string.Join(Environment.NewLine, lines);
    }
}

/// <summary>
/// Thrown by a strict load when a well-formed checkpoint does not fit the module; the message and <see cref="Report"/>
/// list every missing, unexpected, wrongly shaped and wrongly typed key. The module is left unchanged. (A damaged file
/// throws <see cref="InvalidDataException"/> instead.)
/// </summary>
public sealed class CheckpointMismatchException : ArgumentException
{
    /// <summary>Creates the exception for the checkpoint <paramref name="source"/> given as argument <paramref name="paramName"/>.</summary>
    public CheckpointMismatchException(string source, WeightLoadReport report, string paramName)
        : base($"'{source}' does not match the module, which was left unchanged:{Environment.NewLine}{report.Describe()}", paramName)
    {
        Checkpoint = source;
        Report = report;
    }

    /// <summary>The checkpoint file or description.</summary>
    public string Checkpoint { get; }

    /// <summary>Every key that did not fit.</summary>
    public WeightLoadReport Report { get; }
}

using static TorchSharp.torch;

namespace DiffTransformer.Checkpoints;

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

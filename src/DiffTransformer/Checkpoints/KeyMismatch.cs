using static TorchSharp.torch;

namespace DiffTransformer.Checkpoints;

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

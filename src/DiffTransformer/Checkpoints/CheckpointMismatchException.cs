using DiffTransformer.Checkpoints;

using static TorchSharp.torch;

namespace DiffTransformer;

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

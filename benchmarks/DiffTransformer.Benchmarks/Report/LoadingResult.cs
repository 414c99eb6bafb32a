namespace DiffTransformer.Benchmarks;

/// <summary>What one <see cref="LoadingProbe"/> child reported, or why it has no result.</summary>
/// <param name="AddedBytes">Peak resident memory the load added (<c>VmHWM</c> after it minus <c>VmRSS</c> before it).</param>
/// <param name="ProcessPeakBytes">The process's peak resident memory during the load.</param>
/// <param name="Seconds">Time of <see cref="HuggingFaceCheckpoint.Load"/>, from the call to the returned model.</param>
/// <param name="ModelBytes">Bytes of the loaded model's parameters (in the target dtype).</param>
/// <param name="Failure">Why the child gave no result; null when it did.</param>
public sealed record LoadingResult(long AddedBytes, long ProcessPeakBytes, double Seconds, long ModelBytes, string? Failure)
{
    /// <summary>A result that failed for <paramref name="why"/>.</summary>
    public static LoadingResult Failed(string why) => new(0, 0, 0, 0, why);
}

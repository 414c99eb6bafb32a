using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Next-token batches cut from one token stream. The last <c>validationFraction</c> of the stream is the validation
/// split; training windows never reach into it. Training batch <c>i</c> holds <c>batchSize</c> windows of
/// <c>time + 1</c> tokens at start positions drawn uniformly from the training split by a counter-based generator
/// keyed on <c>(seed, i, row)</c>: the same seed always gives the same batches, in any order, with no state to save.
/// Validation batches are the consecutive windows of the validation split (stride <c>time</c>, so each validation token
/// is predicted once), <c>batchSize</c> per batch, the last one possibly smaller.
/// </summary>
public sealed class TokenBatches : ITrainingData, IDisposable
{
    private readonly Tensor tokens; // [length] int64, CPU
    private readonly long validationStart;

    /// <summary>Creates the batches.</summary>
    /// <param name="tokens">The token stream (ids are checked by the model when used).</param>
    /// <param name="batchSize">Windows per batch.</param>
    /// <param name="time">Positions per window; each window reads <c>time + 1</c> tokens.</param>
    /// <param name="validationFraction">Share of the stream, at its end, kept for validation; in [0, 1).</param>
    /// <param name="seed">Seed of the training windows.</param>
    public TokenBatches(ReadOnlySpan<int> tokens, int batchSize, int time, double validationFraction = 0.1, long seed = 0)
    {
        Guard.Positive(batchSize, nameof(batchSize));
        Guard.Positive(time, nameof(time));
        Guard.UnitInterval(validationFraction, nameof(validationFraction));
        long length = tokens.Length;
        long validation = (long)Math.Floor(length * validationFraction);
        if (validationFraction > 0 && validation < time + 1)
            throw new ArgumentException(
                $"tokens must leave at least time + 1 = {time + 1} validation tokens; {length} tokens with validationFraction {validationFraction} leave {validation}.",
                nameof(tokens));
        if (length - validation < time + 1)
            throw new ArgumentException(
                $"tokens must leave at least time + 1 = {time + 1} training tokens; {length} tokens with validationFraction {validationFraction} leave {length - validation}.",
                nameof(tokens));
        BatchSize = batchSize;
        Time = time;
        Seed = seed;
        validationStart = length - validation;
        var values = new long[length];
        for (int i = 0; i < tokens.Length; i++) values[i] = tokens[i];
        this.tokens = tensor(values).DetachFromDisposeScope();
    }

    /// <summary>Windows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Positions per window.</summary>
    public int Time { get; }

    /// <summary>Seed of the training windows.</summary>
    public long Seed { get; }

    /// <summary>Tokens in the training split.</summary>
    public long TrainingTokens => validationStart;

    /// <summary>Tokens in the validation split.</summary>
    public long ValidationTokens => tokens.shape[0] - validationStart;

    /// <summary>Number of validation batches.</summary>
    public int ValidationBatchCount => (int)((ValidationWindowCount + BatchSize - 1) / BatchSize);

    private long ValidationWindowCount => ValidationTokens < Time + 1 ? 0 : (ValidationTokens - 1) / Time;

    /// <summary>Start positions (in the training split) of the windows of training batch <paramref name="index"/>.</summary>
    public long[] TrainingWindowStarts(long index)
    {
        Guard.NonNegative(index, nameof(index));
        ulong choices = (ulong)(validationStart - Time); // valid starts: 0 .. validationStart - (time + 1)
        var starts = new long[BatchSize];
        for (int row = 0; row < BatchSize; row++)
            starts[row] = (long)CounterRandom.Below(CounterRandom.Hash((ulong)Seed, (ulong)index, (ulong)row), choices);
        return starts;
    }

    /// <inheritdoc />
    public TrainingBatch GetTrainingBatch(long index, Device device) => Windows(TrainingWindowStarts(index), device);

    /// <inheritdoc />
    public IEnumerable<TrainingBatch> GetValidationBatches(Device device)
    {
        long windows = ValidationWindowCount;
        for (long first = 0; first < windows; first += BatchSize)
        {
            long count = Math.Min(BatchSize, windows - first);
            var starts = new long[count];
            for (long row = 0; row < count; row++) starts[row] = validationStart + (first + row) * Time;
            yield return Windows(starts, device);
        }
    }

    /// <inheritdoc />
    public void Dispose() => tokens.Dispose();

    private TrainingBatch Windows(long[] starts, Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        using var scope = NewDisposeScope();
        var index = tensor(starts).unsqueeze(1).Plus(ScalarMath.Range(0, Time + 1, 1, ScalarType.Int64, CPU));
        var windows = tokens.take(index).to(device);
        return new TrainingBatch(windows.narrow(1, 0, Time).contiguous(), windows.narrow(1, 1, Time).contiguous());
    }
}

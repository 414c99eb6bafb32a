using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Retrieval;

/// <summary>
/// A seeded multi-needle retrieval task (the paper's needle-in-a-haystack evaluation in miniature) that is also
/// training data. Example: <c>[BOS, context, QUERY, key]</c>, where the context is random filler with
/// <see cref="NeedleTaskOptions.NeedleCount"/> needles <c>[NEEDLE, key, value]</c> at non-overlapping positions; one
/// needle's key is queried and its value is the only scored target (at the last position; every other target is
/// <see cref="TrainingBatch.IgnoreIndex"/>). The queried needle's depth is controlled: training examples draw a depth
/// bucket uniformly, validation examples cycle through the buckets. Examples are a pure function of
/// <c>(Seed, batch index, row)</c>, so batches can be produced in any order and runs resume exactly.
/// Token ids: 0 BOS, 1 NEEDLE, 2 QUERY, then keys, values and fillers. <see cref="NeedleTaskOptions.KeyedValues"/> chooses
/// between a two-hop task (shared values) and a one-hop task (values that name their key).
/// </summary>
public sealed class NeedleRetrievalTask : ITrainingData
{
    /// <summary>Beginning-of-sequence token.</summary>
    public const long Bos = 0;

    /// <summary>Marks the start of a needle.</summary>
    public const long NeedleMarker = 1;

    /// <summary>Marks the query: the next token is the key whose value is asked for.</summary>
    public const long QueryMarker = 2;

    private const ulong ValidationStream = 0x56414C4944415445UL; // keeps validation examples apart from training ones
    private readonly Lazy<IReadOnlyList<NeedleExample>> validation;

    /// <summary>Creates the task (options validated first).</summary>
    public NeedleRetrievalTask(NeedleTaskOptions? options = null)
    {
        Options = options ?? new NeedleTaskOptions();
        Options.Validate();
        validation = new Lazy<IReadOnlyList<NeedleExample>>(() =>
            Enumerable.Range(0, Options.ValidationExamples)
                .Select(i => Create(CounterRandom.Hash((ulong)Options.Seed ^ ValidationStream, (ulong)i, 0), i % Options.DepthBuckets))
                .ToArray());
    }

    /// <summary>The task's shape and seed.</summary>
    public NeedleTaskOptions Options { get; }

    /// <summary>Vocabulary size a model needs for this task.</summary>
    public int VocabSize => Options.VocabSize;

    /// <summary>The id of key <paramref name="index"/> (in <c>[0, KeyCount)</c>).</summary>
    public long KeyToken(int index) => 3 + CheckIndex(index, Options.KeyCount, nameof(index));

    /// <summary>
    /// The id of value <paramref name="index"/> (in <c>[0, ValueCount)</c>) of key <paramref name="key"/> (in
    /// <c>[0, KeyCount)</c>); without <see cref="NeedleTaskOptions.KeyedValues"/> the values are shared and the key only checked.
    /// </summary>
    public long ValueToken(int key, int index)
    {
        CheckIndex(key, Options.KeyCount, nameof(key));
        CheckIndex(index, Options.ValueCount, nameof(index));
        return 3 + Options.KeyCount + (Options.KeyedValues ? key * Options.ValueCount : 0) + index;
    }

    /// <summary>The id of filler <paramref name="index"/> (in <c>[0, FillerCount)</c>).</summary>
    public long FillerToken(int index) => 3 + Options.KeyCount + Options.ValueTokenCount + CheckIndex(index, Options.FillerCount, nameof(index));

    /// <summary>The fixed validation examples (created on first use).</summary>
    public IReadOnlyList<NeedleExample> ValidationExamples => validation.Value;

    /// <summary>The examples of training batch <paramref name="index"/> (0-based), <see cref="NeedleTaskOptions.BatchSize"/> of them.</summary>
    public IReadOnlyList<NeedleExample> TrainingExamples(long index)
    {
        Guard.NonNegative(index, nameof(index));
        var examples = new NeedleExample[Options.BatchSize];
        for (int row = 0; row < examples.Length; row++)
        {
            ulong key = CounterRandom.Hash((ulong)Options.Seed, (ulong)index, (ulong)row);
            examples[row] = Create(key, (int)CounterRandom.Below(CounterRandom.Hash(key, 0, 0), (ulong)Options.DepthBuckets));
        }
        return examples;
    }

    /// <inheritdoc />
    public TrainingBatch GetTrainingBatch(long index, Device device) => ToBatch(TrainingExamples(index), device);

    /// <inheritdoc />
    public IEnumerable<TrainingBatch> GetValidationBatches(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return ValidationExamples.Chunk(Options.BatchSize).Select(chunk => ToBatch(chunk, device));
    }

    /// <summary>
    /// Stacks <paramref name="examples"/> (all of one length) into a batch on <paramref name="device"/>: inputs
    /// <c>[n, SequenceLength]</c> and targets of the same shape, <see cref="TrainingBatch.IgnoreIndex"/> except the
    /// answer at the last position.
    /// </summary>
    public static TrainingBatch ToBatch(IReadOnlyList<NeedleExample> examples, Device device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(device);
        if (examples.Count == 0) throw new ArgumentException("examples must contain at least one example; got none.", nameof(examples));
        int time = examples[0].Tokens.Count;
        if (examples.Any(e => e.Tokens.Count != time))
            throw new ArgumentException($"examples must all have {time} tokens; got lengths {string.Join(", ", examples.Select(e => e.Tokens.Count).Distinct())}.", nameof(examples));
        var inputs = new long[examples.Count * time];
        var targets = new long[examples.Count * time];
        Array.Fill(targets, TrainingBatch.IgnoreIndex);
        for (int row = 0; row < examples.Count; row++)
        {
            for (int t = 0; t < time; t++) inputs[row * time + t] = examples[row].Tokens[t];
            targets[row * time + time - 1] = examples[row].Answer;
        }
        using var scope = NewDisposeScope();
        var shape = new long[] { examples.Count, time };
        return new TrainingBatch(tensor(inputs, shape).to(device), tensor(targets, shape).to(device));
    }

    /// <summary>
    /// A short printable name for token <paramref name="id"/>: BOS, N, Q, k0.., v0.. (keyed values: v{key}.{index}), or
    /// "." for filler.
    /// </summary>
    public string TokenLabel(long id)
    {
        if (id < 0 || id >= VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"id must lie in [0, {VocabSize}) (VocabSize); got {id}.");
        long keys = 3 + Options.KeyCount, values = keys + Options.ValueTokenCount;
        return id switch
        {
            Bos => "BOS",
            NeedleMarker => "N",
            QueryMarker => "Q",
            _ when id < keys => $"k{id - 3}",
            _ when id < values && Options.KeyedValues => $"v{(id - keys) / Options.ValueCount}.{(id - keys) % Options.ValueCount}",
            _ when id < values => $"v{id - keys}",
            _ => ".",
        };
    }

    /// <summary>Builds one example from 64 random bits with the queried needle in depth bucket <paramref name="bucket"/>.</summary>
    private NeedleExample Create(ulong key, int bucket)
    {
        var o = Options;
        var random = new Draws(key);
        int context = o.ContextLength, lastStart = context - 3; // needle starts (in the context) lie in [0, lastStart]

        // The queried needle first, at a start whose depth start / lastStart falls in the bucket.
        int from = (int)Math.Ceiling((double)bucket * lastStart / o.DepthBuckets);
        int to = bucket == o.DepthBuckets - 1 ? lastStart : (int)Math.Ceiling((double)(bucket + 1) * lastStart / o.DepthBuckets) - 1;
        var occupied = new bool[context];
        int queriedStart = from + random.Below(to - from + 1);
        var starts = new List<int> { queriedStart };
        Occupy(occupied, queriedStart);
        for (int n = 1; n < o.NeedleCount; n++)
        {
            var free = Enumerable.Range(0, lastStart + 1).Where(s => !occupied[s] && !occupied[s + 1] && !occupied[s + 2]).ToArray();
            int start = free[random.Below(free.Length)];
            starts.Add(start);
            Occupy(occupied, start);
        }

        var keys = random.Distinct(o.NeedleCount, o.KeyCount);
        // Keyed values are distinct through their keys; shared ones are drawn distinct.
        var values = o.KeyedValues
            ? Enumerable.Range(0, o.NeedleCount).Select(_ => random.Below(o.ValueCount)).ToArray()
            : random.Distinct(o.NeedleCount, o.ValueCount);
        var tokens = new long[o.SequenceLength];
        tokens[0] = Bos;
        for (int i = 0; i < context; i++) tokens[1 + i] = FillerToken(random.Below(o.FillerCount));
        for (int n = 0; n < o.NeedleCount; n++)
        {
            tokens[1 + starts[n]] = NeedleMarker;
            tokens[2 + starts[n]] = KeyToken(keys[n]);
            tokens[3 + starts[n]] = ValueToken(keys[n], values[n]);
        }
        tokens[^2] = QueryMarker;
        tokens[^1] = KeyToken(keys[0]);

        var ordered = starts.Order().ToArray();
        return new NeedleExample(tokens, ValueToken(keys[0], values[0]), new TokenSpan(1 + queriedStart, 3), new TokenSpan(1, context),
            ordered.Select(s => 1 + s).ToArray(), Array.IndexOf(ordered, queriedStart), (double)queriedStart / lastStart, bucket);
    }

    private static void Occupy(bool[] occupied, int start)
    {
        for (int i = 0; i < 3; i++) occupied[start + i] = true;
    }

    private static int CheckIndex(int index, int count, string name) =>
        index >= 0 && index < count ? index : throw new ArgumentOutOfRangeException(name, index, $"{name} must lie in [0, {count}); got {index}.");

    /// <summary>A stream of random numbers derived from one example key (counter-based, so no shared state).</summary>
    private sealed class Draws(ulong key)
    {
        private ulong counter;

        public int Below(int bound) => (int)CounterRandom.Below(CounterRandom.Hash(key, 1, ++counter), (ulong)bound);

        /// <summary><paramref name="count"/> distinct values from <c>[0, bound)</c> (partial Fisher-Yates).</summary>
        public int[] Distinct(int count, int bound)
        {
            var pool = Enumerable.Range(0, bound).ToArray();
            for (int i = 0; i < count; i++)
            {
                int j = i + Below(bound - i);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
            return pool[..count];
        }
    }
}

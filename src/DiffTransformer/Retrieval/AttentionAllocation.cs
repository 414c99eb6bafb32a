using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer.Retrieval;

/// <summary>
/// The paper's attention-allocation measure (Ye et al., 2024, section 3.4): how much of one query's attention lands on
/// the answer span and how much on the distractor context, summed over those key positions and averaged over all heads
/// of all layers. For differential attention the map measured is the effective map <c>A1 - lambda * A2</c> (the weights
/// that multiply the values, <see cref="AttentionMaps.Effective"/>), as in the paper; its rows sum to
/// <see cref="Total"/>, which is <c>1 - lambda</c> rather than 1 and may leave individual weights negative. For softmax
/// attention the map is the softmax itself and <see cref="Total"/> is 1.
/// </summary>
/// <param name="Answer">Mean attention weight sum over the answer span.</param>
/// <param name="Distractors">Mean attention weight sum over the context outside the answer span.</param>
/// <param name="Total">Mean attention weight sum over all keys (1 for softmax).</param>
public readonly record struct AttentionAllocation(double Answer, double Distractors, double Total)
{
    /// <summary>
    /// Measures the allocation of the query in row <c>i</c> of the maps for <c>targets[i]</c>, for every row.
    /// <paramref name="layers"/> are the maps of all layers of one forward pass (as
    /// <see cref="DiffTransformerLM.ComputeAttentionMaps"/> returns them), each <c>[batch, heads, queryTime, keyTime]</c>
    /// with <c>batch = targets.Count</c>. One read from the device.
    /// </summary>
    /// <exception cref="ArgumentException">No layers, shapes that disagree, or a position outside the maps.</exception>
    public static IReadOnlyList<AttentionAllocation> Measure(IReadOnlyList<AttentionMaps> layers, IReadOnlyList<AllocationTarget> targets)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(targets);
        if (layers.Count == 0) throw new ArgumentException("layers must hold the maps of at least one layer; got none.", nameof(layers));
        var shape = layers[0].Effective.shape;
        if (shape.Length != 4)
            throw new ArgumentException($"layers[0].Effective must be [batch, heads, queryTime, keyTime]; got {Guard.Shape(layers[0].Effective)}.", nameof(layers));
        for (int i = 1; i < layers.Count; i++)
            if (layers[i].Effective.dim() != 4 || layers[i].Effective.shape[0] != shape[0] || layers[i].Effective.shape[2] != shape[2] || layers[i].Effective.shape[3] != shape[3])
                throw new ArgumentException(
                    $"layers must share batch, queryTime and keyTime; layers[0] is {Guard.Shape(layers[0].Effective)}, layers[{i}] is {Guard.Shape(layers[i].Effective)}.",
                    nameof(layers));
        long batch = shape[0], queries = shape[2], keys = shape[3];
        if (targets.Count != batch)
            throw new ArgumentException($"targets must have one entry per batch row ({batch}); got {targets.Count}.", nameof(targets));
        var answer = new double[batch * keys];
        var distractors = new double[batch * keys];
        var queryRows = new long[batch];
        for (int b = 0; b < batch; b++)
        {
            var t = targets[b];
            CheckSpan(t.Answer, keys, $"targets[{b}].Answer");
            CheckSpan(t.Context, keys, $"targets[{b}].Context");
            if (t.QueryPosition < 0 || t.QueryPosition >= queries)
                throw new ArgumentOutOfRangeException(nameof(targets), t.QueryPosition,
                    $"targets[{b}].QueryPosition must lie in [0, {queries}) (queryTime); got {t.QueryPosition}.");
            queryRows[b] = t.QueryPosition;
            for (int k = 0; k < keys; k++)
            {
                if (t.Answer.Contains(k)) answer[b * keys + k] = 1;
                else if (t.Context.Contains(k)) distractors[b * keys + k] = 1;
            }
        }

        using var scope = NewDisposeScope();
        var device = layers[0].Effective.device;
        var masks = stack(new[] { tensor(answer, new[] { batch, keys }), tensor(distractors, new[] { batch, keys }), ones(batch, keys, ScalarType.Float64) })
            .to(device).unsqueeze(2);                                                    // [3, batch, 1, keys]
        var sums = zeros(3, batch, ScalarType.Float64, device);
        var rowIndex = tensor(queryRows, device: device);
        foreach (var maps in layers)
        {
            var map = maps.Effective.to(ScalarType.Float64);
            var index = rowIndex.view(batch, 1, 1, 1).expand(batch, map.shape[1], 1, keys);
            var rows = map.gather(2, index).squeeze(2);                                  // [batch, heads, keys]
            sums.PlusInPlace((rows.unsqueeze(0) * masks).sum(-1).mean(new long[] { -1 }));     // [3, batch]
        }
        var values = sums.DividedBy(layers.Count).cpu().data<double>().ToArray();
        return Enumerable.Range(0, (int)batch)
            .Select(b => new AttentionAllocation(values[b], values[batch + b], values[2 * batch + b]))
            .ToArray();
    }

    /// <summary>The allocation of every example in <paramref name="examples"/>, whose maps are <paramref name="layers"/> (row i = example i).</summary>
    public static IReadOnlyList<AttentionAllocation> Measure(IReadOnlyList<AttentionMaps> layers, IReadOnlyList<NeedleExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return Measure(layers, examples.Select(AllocationTarget.Of).ToArray());
    }

    /// <summary>The component-wise mean of <paramref name="allocations"/> (at least one).</summary>
    public static AttentionAllocation Mean(IEnumerable<AttentionAllocation> allocations)
    {
        ArgumentNullException.ThrowIfNull(allocations);
        var list = allocations.ToList();
        if (list.Count == 0) throw new ArgumentException("allocations must contain at least one value; got none.", nameof(allocations));
        return new AttentionAllocation(list.Average(a => a.Answer), list.Average(a => a.Distractors), list.Average(a => a.Total));
    }

    private static void CheckSpan(TokenSpan span, long keys, string name)
    {
        if (span.Start < 0 || span.Length < 0 || span.End > keys)
            throw new ArgumentOutOfRangeException("targets", span, $"{name} must lie within the {keys} key positions; got [{span.Start}, {span.End}).");
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// Attention maps of one layer for analysis and plots, detached from autograd. Maps have shape
/// <c>[batch, heads, queryTime, keyTime]</c>, where heads is the module's number of (output) heads.
/// </summary>
public sealed class AttentionMaps : IDisposable
{
    internal AttentionMaps(AttentionKind kind, Tensor effective, Tensor? first, Tensor? second, Tensor? lambda)
    {
        Kind = kind;
        Effective = Keep(effective)!;
        First = Keep(first);
        Second = Keep(second);
        Lambda = Keep(lambda);
    }

    /// <summary>Which attention produced the maps.</summary>
    public AttentionKind Kind { get; }

    /// <summary>The map that multiplies the values: the softmax map, or <c>A1 - lambda * A2</c> for differential attention.</summary>
    public Tensor Effective { get; }

    /// <summary>The first softmax map <c>A1</c> (differential kinds only).</summary>
    public Tensor? First { get; }

    /// <summary>The second softmax map <c>A2</c> (differential kinds only).</summary>
    public Tensor? Second { get; }

    /// <summary>
    /// Lambda: a scalar for V1 (shared by all heads of the layer), <c>[batch, heads, queryTime]</c> for V2 (per token and
    /// head); null for softmax attention.
    /// </summary>
    public Tensor? Lambda { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Effective.Dispose();
        First?.Dispose();
        Second?.Dispose();
        Lambda?.Dispose();
    }

    static Tensor? Keep(Tensor? t) => t?.detach().DetachFromDisposeScope();
}

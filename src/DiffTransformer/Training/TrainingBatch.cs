using static TorchSharp.torch;

namespace DiffTransformer;

/// <summary>
/// One batch of next-token training data: <see cref="Inputs"/> and <see cref="Targets"/>, both <c>[batch, time]</c>
/// int64 on one device. Targets equal to <see cref="IgnoreIndex"/> are not scored. Disposing frees both tensors.
/// </summary>
public sealed class TrainingBatch : IDisposable
{
    /// <summary>Target value that the loss skips (PyTorch's default).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Takes ownership of <paramref name="inputs"/> and <paramref name="targets"/> (both <c>[batch, time]</c>).</summary>
    public TrainingBatch(Tensor inputs, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.dim() != 2 || !inputs.shape.SequenceEqual(targets.shape))
            throw new ArgumentException(
                $"inputs and targets must both be [batch, time] of one shape; got inputs {Guard.Shape(inputs)}, targets {Guard.Shape(targets)}.",
                nameof(targets));
        Inputs = inputs.DetachFromDisposeScope();
        Targets = targets.DetachFromDisposeScope();
    }

    /// <summary>Token ids <c>[batch, time]</c>.</summary>
    public Tensor Inputs { get; }

    /// <summary>The token to predict at each position, <c>[batch, time]</c>.</summary>
    public Tensor Targets { get; }

    /// <summary>Input tokens in the batch (<c>batch * time</c>), the unit of tokens per second.</summary>
    public long TokenCount => Inputs.numel();

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
    }
}

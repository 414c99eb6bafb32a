using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DiffTransformer;

/// <summary>The target rules of the language-model loss and the loss itself.</summary>
internal static class LossTargets
{
    /// <summary>
    /// Checks <paramref name="targets"/> against <paramref name="logits"/> <c>[batch, time, vocab]</c> and returns them
    /// flat, int64 <c>[batch * time]</c>.
    /// </summary>
    public static Tensor Check(Tensor targets, Tensor logits, long ignoreIndex)
    {
        CheckShape(logits.shape, targets);
        long vocab = logits.shape[2];
        var flat = targets.reshape(-1).to(ScalarType.Int64);
        var outOfRange = OutOfRange(flat, vocab, ignoreIndex);
        if (outOfRange.any().item<bool>()) ThrowOutOfRange(flat, outOfRange, vocab, ignoreIndex);
        return flat;
    }

    /// <summary>
    /// Checks <paramref name="targets"/> for <paramref name="tokens"/> (on the model's device) and the token ids with
    /// <paramref name="tokenRules"/>, reading both ranges back in one device-to-host copy. Returns the flat int64 targets
    /// on the tokens' device.
    /// </summary>
    public static Tensor Check(Tensor targets, Tensor tokens, long vocab, long ignoreIndex, TokenRules tokenRules)
    {
        CheckShape(new[] { tokens.shape[0], tokens.shape[1], vocab }, targets);
        var flat = targets.reshape(-1).to(ScalarType.Int64).to(tokens.device);
        var outOfRange = OutOfRange(flat, vocab, ignoreIndex);
        var read = stack(new[] { tokens.min().to(ScalarType.Int64), tokens.max().to(ScalarType.Int64), outOfRange.any().to(ScalarType.Int64) })
            .cpu().data<long>().ToArray();
        tokenRules.CheckRange(read[0], read[1], "tokens");
        if (read[2] != 0) ThrowOutOfRange(flat, outOfRange, vocab, ignoreIndex);
        return flat;
    }

    /// <summary>Mean cross-entropy over checked flat targets, in at least float32.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor flatTargets, long ignoreIndex)
    {
        var flatLogits = logits.reshape(-1, logits.shape[2]);
        if (DTypes.IsHalf(flatLogits.dtype)) flatLogits = flatLogits.to(ScalarType.Float32);
        return F.cross_entropy(flatLogits, flatTargets, ignore_index: ignoreIndex);
    }

    private static void CheckShape(long[] logitsShape, Tensor targets)
    {
        if (logitsShape.Length != 3 || targets.dim() != 2 || logitsShape[0] != targets.shape[0] || logitsShape[1] != targets.shape[1])
            throw new ArgumentException(
                $"targets must be [batch, time] matching logits [batch, time, vocab]; got logits {Guard.Shape(logitsShape)}, targets {Guard.Shape(targets)}.",
                nameof(targets));
    }

    private static Tensor OutOfRange(Tensor flatTargets, long vocab, long ignoreIndex) =>
        flatTargets.NotEqual(ignoreIndex) & (flatTargets.Less(0) | flatTargets.AtLeastMask(vocab));

    private static void ThrowOutOfRange(Tensor flatTargets, Tensor outOfRange, long vocab, long ignoreIndex) =>
        throw new ArgumentException(
            $"targets must lie in [0, {vocab}) or equal ignoreIndex {ignoreIndex}; found {flatTargets.masked_select(outOfRange)[0].item<long>()}.",
            "targets");
}

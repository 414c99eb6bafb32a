using TorchSharp;
using static TorchSharp.torch;
using static DiffTransformer.Tests.Rejection;

namespace DiffTransformer.Tests;

/// <summary><see cref="DiffTransformerLM.Loss"/> checks tokens and targets together (one read back) with the messages of
/// <see cref="DiffTransformerLM.Forward"/> and <see cref="DiffTransformerLM.CrossEntropy"/>.</summary>
public sealed class LossValidationTests
{
    [Fact]
    public void LossChecksTokensAndTargets()
    {
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.Differential));
        var good = tensor(new long[] { 1, 2, 3 }).unsqueeze(0);
        Rejects(() => model.Loss(tensor(new long[] { 1, 2, 16 }).unsqueeze(0), good), "tokens", "[0, 16)", "to 16");
        Rejects(() => model.Loss(tensor(new long[] { -1, 2, 3 }).unsqueeze(0), good), "tokens", "[0, 16)", "-1");
        Rejects(() => model.Loss(tensor(new long[] { 1, 2, 3 }), good), "tokens", "[batch, time]", "[3]");
        Rejects(() => model.Loss(zeros(1, 3), good), "tokens", "integer", "Float32");
        Rejects(() => model.Loss(zeros(new long[] { 1, 65 }, ScalarType.Int64), zeros(new long[] { 1, 65 }, ScalarType.Int64)),
            "tokens", "MaxSequenceLength is 64", "65");
        Rejects(() => model.Loss(good, tensor(new long[] { 1, 2, 99 }).unsqueeze(0)), "targets", "[0, 16)", "99");
        Rejects(() => model.Loss(good, tensor(new long[] { 1, -5, 2 }).unsqueeze(0)), "targets", "[0, 16)", "-5");
        Rejects(() => model.Loss(good, zeros(new long[] { 1, 4 }, ScalarType.Int64)), "targets", "[1, 3, 16]", "[1, 4]");
        Assert.Throws<ArgumentNullException>(() => model.Loss(good, null!));
    }

    [Fact]
    public void LossEqualsCrossEntropyOfTheLogitsAndSkipsIgnoredTargets()
    {
        manual_seed(4);
        using var model = new DiffTransformerLM(Build.TinyConfig(AttentionKind.DifferentialV2));
        var tokens = randint(0, 16, new long[] { 2, 7 });
        var targets = randint(0, 16, new long[] { 2, 7 });
        targets[0, 3] = tensor(-100L);
        targets[1, 0] = tensor(-100L);
        using var loss = model.Loss(tokens.to(ScalarType.Int32), targets);
        using var expected = DiffTransformerLM.CrossEntropy(model.call(tokens), targets);
        Assert.True(Bits.Same(expected, loss));
        Rejects(() => model.Loss(tokens, targets, ignoreIndex: 5), "targets", "ignoreIndex 5", "-100");
    }
}
